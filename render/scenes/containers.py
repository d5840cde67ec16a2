"""``scene=containers``: UF6 cylinders 30B, 48X, 48Y, 48G lying alone, in rows or stacked.

Proportions (metres, nominal): 30B 0.76 x 2.06 with a valve cover; 48X 1.22 x 3.12 and
48Y 1.22 x 3.81 with two stiffening rings; 48G 1.22 x 3.73 with skirted (recessed) heads.
Meshes lie along x. Distractors: upright tanks, boxes, pipes, alone or grouped.
"""
from __future__ import annotations

import math

import numpy as np

from render import geometry as G
from render.colour import hsv
from render.registry import register
from render.scenes.base import SceneKind, distractor_meshes, generic_material

SPECS = {  # class: (diameter, length, stiffening rings, skirted heads, valve cover)
    "30B": (0.762, 2.06, 0, False, True),
    "48X": (1.22, 3.12, 2, False, False),
    "48Y": (1.22, 3.81, 2, False, False),
    "48G": (1.22, 3.73, 0, True, False),
}


def cylinder_profile(d: float, length: float, rings: int, skirted: bool) -> list[tuple[float, float]]:
    r, h = d / 2, length / 2
    if skirted:
        head = [(0.0, -h + 0.08), (r - 0.03, -h + 0.08), (r - 0.03, -h + 0.08), (r - 0.03, -h),
                (r - 0.03, -h), (r, -h), (r, -h)]
    else:
        head = [(0.0, -h), (r * 0.55, -h + 0.02), (r * 0.85, -h + 0.07), (r, -h + 0.16)]
    body: list[tuple[float, float]] = []
    for k in range(rings):
        z = -h * 0.45 + k * (0.9 * h) if rings > 1 else 0.0
        body += [(r, z - 0.06), (r + 0.04, z - 0.035), (r + 0.04, z + 0.035), (r, z + 0.06)]
    top = [(r, -z_) for r, z_ in reversed(head)]
    return head + body + top


def lying(m: G.Mesh) -> G.Mesh:
    """Turn a mesh revolved about z to lie along x."""
    v = m.verts[:, [2, 1, 0]] * np.array([1.0, 1.0, -1.0])
    return G.Mesh(v, [f[::-1] for f in m.faces]).centred()


@register("containers")
class Containers(SceneKind):
    name = "containers"

    def target_meshes(self) -> dict[str, G.Mesh]:
        out = {}
        for cls, (d, length, rings, skirted, valve) in SPECS.items():
            m = lying(G.revolve(cylinder_profile(d, length, rings, skirted), 40))
            if valve:
                cover = G.translated(G.box((0.18, 0.3, 0.3), 1), (length / 2 + 0.05, 0, 0))
                m = G.merge(m, cover)
            out[cls] = m
        return out

    @staticmethod
    def distractor_meshes() -> dict[str, G.Mesh]:
        base = distractor_meshes()
        tank = G.revolve([(0, -1.5), (1.0, -1.5), (1.0, -1.5), (1.0, 1.1), (0.7, 1.4), (0.0, 1.5)], 32)
        pipe = lying(G.revolve(G.cylinder_profile(0.15, 4.0), 16))
        return {**base, "tank": tank, "box": G.box((1.2, 1.0, 1.0), 2), "pipe": pipe}

    def target_material(self, rng, cls: str, m) -> dict:
        steel = [0.55, 0.56, 0.55] if rng.uniform() < 0.5 else hsv(rng, (0.0, 0.5), (0.3, 0.8))
        mat = generic_material(rng, m, color=steel)
        mat["metallic"] = 0.6 if rng.uniform() < 0.5 else 0.0
        mat["texture"] = None
        mat["name"] = ("worn_" if mat["wear"] > 0.05 else "") + "painted_steel"
        return mat

    def arrange(self, rng, classes: list[str], sc):
        """Rows (side by side) or stacks (a second layer in the grooves), else free placement."""
        if not classes:
            return None
        weights = dict(sc.containers.arrangement_weights)
        keys = [k for k, w in weights.items() if w > 0]
        p = np.asarray([weights[k] for k in keys], float)
        how = keys[int(rng.choice(len(keys), p=p / p.sum()))]
        if how == "alone" or len(classes) == 1:
            return None
        radii = [SPECS[c][0] / 2 * 1.3 if c in SPECS else 0.6 for c in classes]
        gap = 0.05
        if how == "stack" and len(classes) >= 3:
            n_bottom = (len(classes) + 2) // 2
        else:
            n_bottom = len(classes)
        pitch = 2 * max(radii) + gap
        slots = [[0.0, (i - (n_bottom - 1) / 2) * pitch, 0.0] for i in range(n_bottom)]
        rb = max(radii[:n_bottom])
        for j in range(len(classes) - n_bottom):
            rt = radii[n_bottom + j]
            y = (j + 0.5 - (n_bottom - 1) / 2) * pitch
            rise = math.sqrt(max((rb + rt) ** 2 - (pitch / 2) ** 2, 0.0))
            slots.append([0.0, y, rb + rise - rt])
        yaw = float(rng.uniform(0, 2 * math.pi))
        c, s = math.cos(yaw), math.sin(yaw)
        origin = rng.uniform(-1.0, 1.0, 2)
        out = []
        for cls, (x, y, z) in zip(classes, slots):
            out.append((cls, [origin[0] + c * x - s * y, origin[1] + s * x + c * y, z], yaw))
        return out

