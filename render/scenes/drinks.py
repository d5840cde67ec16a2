"""``scene=drink_containers``: aluminium cans (330 ml, 500 ml) and PET bottles (metres).

Revolved profiles: cans with a domed base and necked lid, bottles with shoulder, neck
and cap. Cans are painted or carry a printed label band; bottles are clear or tinted
plastic with a label band and a coloured cap. Dents and crushes deform the vertices.
"""
from __future__ import annotations

import math


from render import geometry as G
from render.colour import hsv
from render.registry import register
from render.scenes.base import SceneKind, distractor_meshes, generic_material

TINTS = {"clear": [0.95, 0.97, 0.97], "green": [0.25, 0.6, 0.3], "blue": [0.35, 0.55, 0.85], "brown": [0.45, 0.25, 0.1]}


def can_profile(h: float, r: float = 0.033) -> list[tuple[float, float]]:
    b, t = -h / 2, h / 2
    return [(0.0, b + 0.008), (r * 0.75, b), (r * 0.93, b + 0.003), (r, b + 0.012), (r, t - 0.014),
            (r * 0.87, t - 0.004), (r * 0.88, t), (r * 0.88, t), (r * 0.82, t - 0.003), (0.0, t - 0.003)]


def bottle_profile(h: float = 0.21, r: float = 0.0325) -> list[tuple[float, float]]:
    b = -h / 2
    z = lambda f: b + f * h  # noqa: E731
    body = [(0.0, b + 0.004), (r * 0.85, b), (r, b + 0.012), (r, z(0.3)), (r * 0.93, z(0.33)), (r, z(0.36)),
            (r, z(0.62)), (r * 0.8, z(0.72)), (0.0135, z(0.84)), (0.0135, z(0.88)), (0.017, z(0.885)),
            (0.017, z(0.89)), (0.0155, z(0.89)), (0.0155, z(0.9))]
    cap = [(0.0155, z(0.9)), (0.0155, h / 2), (0.0155, h / 2), (0.0, h / 2)]
    return body + cap


@register("drink_containers")
class Drinks(SceneKind):
    name = "drink_containers"

    def target_meshes(self) -> dict[str, G.Mesh]:
        return {"can_330ml": G.revolve(can_profile(0.115), 32), "can_500ml": G.revolve(can_profile(0.168), 32),
                "pet_bottle": G.revolve(bottle_profile(), 32)}

    @staticmethod
    def distractor_meshes() -> dict[str, G.Mesh]:
        return {k: m.scaled(0.08) for k, m in distractor_meshes().items()}

    def target_material(self, rng, cls: str, m) -> dict:
        mat = generic_material(rng, m)
        mat["texture"] = None
        if cls.startswith("can"):
            silver = {"color": [0.8, 0.8, 0.82], "metallic": 1.0, "roughness": 0.25, "z0": 0.93, "z1": 1.01}
            mat.update(metallic=1.0, roughness=round(float(rng.uniform(0.15, 0.45)), 4), cap=silver)
            if rng.uniform() < 0.6:
                mat["band"] = {"color": hsv(rng), "z0": 0.12, "z1": 0.9, "roughness": 0.35, "metallic": 0.3,
                               "pattern": {"kind": str(rng.choice(["stripes", "noise", "checker", "voronoi"])),
                                           "color": hsv(rng), "scale": round(float(rng.uniform(4, 20)), 3)}}
                mat["name"] = "printed_aluminium"
            else:
                mat["name"] = "painted_aluminium"
        else:
            tint = str(rng.choice(list(TINTS)))
            lo = float(rng.uniform(0.3, 0.45))
            mat.update(base_color=TINTS[tint], metallic=0.0, transmission=1.0, roughness=0.05,
                       cap={"color": hsv(rng, (0.5, 1.0), (0.3, 0.9)), "z0": 0.9, "z1": 1.01, "roughness": 0.5},
                       band={"color": hsv(rng), "z0": lo, "z1": lo + float(rng.uniform(0.15, 0.3)), "roughness": 0.4,
                             "pattern": {"kind": "stripes", "color": hsv(rng), "scale": 8.0}})
            mat["name"] = f"pet_{tint}"
        return mat

    def deform(self, rng, cls: str, sc, m) -> dict | None:
        d = sc.drinks
        crush = float(rng.uniform(0.15, 0.45)) if rng.uniform() < d.crush_prob else 0.0
        dents = int(rng.integers(1, 4)) if rng.uniform() < max(d.dent_prob, m.dent_prob) else 0
        if not crush and not dents:
            return None
        return {"dents": dents, "depth": round(float(rng.uniform(0.04, 0.12)), 4), "crush": round(crush, 4),
                "seed": int(rng.integers(2**31))}

    def rest_rotation(self, rng, cls: str, sc) -> list[float] | None:
        return [math.pi / 2, 0.0, 0.0] if rng.uniform() < sc.drinks.lying_prob else None

