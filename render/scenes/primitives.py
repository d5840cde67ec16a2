"""``scene=primitives``: cube, sphere, cylinder, cone and torus as classes (about 1 unit big)."""
from __future__ import annotations

from render import geometry as G
from render.registry import register
from render.scenes.base import SceneKind


@register("primitives")
class Primitives(SceneKind):
    name = "primitives"

    def target_meshes(self) -> dict[str, G.Mesh]:
        return {
            "cube": G.box((0.8, 0.8, 0.8), 4),
            "sphere": G.sphere(0.5, 16),
            "cylinder": G.revolve(G.cylinder_profile(0.4, 0.9), 32),
            "cone": G.revolve([(0, -0.45), (0.45, -0.45), (0.45, -0.45), (0.0, 0.5)], 32),
            "torus": G.torus(0.38, 0.13, 32, 12),
        }

