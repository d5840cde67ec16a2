"""Scene kinds (``scene.name``): which target classes and distractors exist, how they look.

Each module here registers its kind (``@register(name)``, render/registry.py) next to it;
importing this package registers them all, and ``create(name)`` builds one.
"""
from __future__ import annotations

from render.registry import SCENES
from render.scenes import cards, containers, drinks, primitives, tabletop  # noqa: F401  (they register)
from render.scenes.base import SceneKind


def create(name: str) -> SceneKind:
    """A fresh scene kind ``name`` (a ``ConfigError`` naming ``scene.name`` lists the known ones)."""
    return SCENES.create(name)


def names() -> list[str]:
    return SCENES.names()
