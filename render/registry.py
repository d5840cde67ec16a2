"""The scene kinds (``scene.name``). Each scene module registers its kind here; ``render.scenes``
imports them all and builds one with ``create(name)``. This module imports no scene."""
from __future__ import annotations

from sim2real.registry import Registry

SCENES = Registry("scene", key="scene.name")
register = SCENES.register
