"""The base scene kind: target and distractor meshes (numpy geometry, render/geometry.py, so
sampling and placement never need Blender) and the hooks a scene refines."""
from __future__ import annotations

from typing import Callable

import numpy as np

from render import geometry as G
from render.colour import hsv

def generic_material(rng: np.random.Generator, m, *, color=None) -> dict:
    """Colour, roughness, metallic, optional procedural pattern, wear and bump (reality.materials)."""
    metallic = bool(rng.uniform() < m.metallic_prob)
    textured = bool(rng.uniform() < m.texture_prob)
    wear = float(rng.uniform(*m.wear))
    mat = {
        "base_color": color if color is not None else hsv(rng),
        "roughness": round(float(rng.uniform(*m.roughness)), 4),
        "metallic": 1.0 if metallic else 0.0,
        "transmission": 0.0,
        "texture": None,
        "band": None,
        "cap": None,
        "wear": round(wear, 4),
        "bump": round(float(rng.uniform(*m.bump)), 4),
    }
    if textured:
        mat["texture"] = {"kind": str(rng.choice(["noise", "checker", "stripes", "voronoi"])),
                          "color": hsv(rng), "scale": round(float(rng.uniform(2, 12)), 3)}
    mat["name"] = ("worn_" if wear > 0.05 else "") + ("metal" if metallic else "plastic") + (
        f"_{mat['texture']['kind']}" if textured else "")
    return mat


def distractor_meshes() -> dict[str, G.Mesh]:
    blob = G.sphere(0.5, 10)
    blob = G.Mesh(blob.verts * np.array([1.0, 0.7, 0.55]), blob.faces)
    return {
        "blob": blob,
        "slab": G.box((1.0, 0.6, 0.08), 2),
        "rod": G.revolve(G.cylinder_profile(0.06, 1.2), 12),
        "ring": G.torus(0.35, 0.06, 24, 8),
        "box": G.box((0.8, 0.6, 0.5), 2),
        "plate": G.box((1.2, 0.9, 0.04), 1),
    }


class SceneKind:
    """Base scene: subclasses give target meshes; hooks refine materials and deformations."""

    name = "base"
    distractor_meshes: Callable[[], dict[str, G.Mesh]] = staticmethod(distractor_meshes)

    def target_meshes(self) -> dict[str, G.Mesh]:
        raise NotImplementedError

    def target_material(self, rng: np.random.Generator, cls: str, m) -> dict:
        return generic_material(rng, m)

    def deform(self, rng: np.random.Generator, cls: str, scene_cfg, m) -> dict | None:
        """Deformation parameters for a target (dents from reality.materials.dent_prob)."""
        if rng.uniform() < m.dent_prob:
            return {"dents": int(rng.integers(1, 4)), "depth": round(float(rng.uniform(*m.dent_depth)), 4),
                    "crush": 0.0, "seed": int(rng.integers(2**31))}
        return None

    def rest_rotation(self, rng: np.random.Generator, cls: str, scene_cfg) -> list[float] | None:
        """A class-specific resting pose (e.g. a bottle lying on its side), or None."""
        return None

    def arrange(self, rng, classes: list[str], scene_cfg):
        """Optional grouped layout: a list of (cls, [x, y], yaw) or None for free placement."""
        return None


def apply_deform(verts: np.ndarray, deform: dict | None) -> np.ndarray:
    """The deformed copy of ``verts`` (deterministic from the recorded parameters)."""
    if not deform:
        return verts
    rng = np.random.default_rng(deform["seed"])
    out = verts
    if deform.get("crush"):
        out = G.crush(out, rng, amount=deform["crush"])
    if deform.get("dents"):
        out = G.dent(out, rng, count=deform["dents"], depth=deform["depth"], width=0.18)
    return out
