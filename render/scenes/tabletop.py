"""``scene=tabletop``: no built-in targets, for user meshes (``scene.assets``) on a table or floor.

The distractors are the generic shapes of ``render.scenes.base`` (blobs, slabs, rods, rings, boxes,
plates); the scene configs that use this kind scale them, the lights and the camera to
table-top sizes in metres (sim2real/conf/scene/lmo.yaml, sim2real/conf/scene/cubes.yaml).
"""
from __future__ import annotations

from render import geometry as G
from render.registry import register
from render.scenes.base import SceneKind


@register("tabletop")
class Tabletop(SceneKind):
    name = "tabletop"

    def target_meshes(self) -> dict[str, G.Mesh]:
        return {}

