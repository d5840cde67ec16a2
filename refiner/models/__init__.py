"""Refiner models; importing this package registers them all (refiner/registry.py)."""
from __future__ import annotations

from typing import Any

from refiner.models.base import Phase, Refiner
from refiner.models.camera import CameraRefiner
from refiner.models.cut import CUT, FastCUT
from refiner.models.cyclegan import CycleGAN
from refiner.models.simgan import SimGAN
from refiner.registry import REFINERS

__all__ = ["CUT", "CameraRefiner", "CycleGAN", "FastCUT", "Phase", "Refiner", "SimGAN", "create", "names"]


def create(name: str, /, **kwargs: Any) -> Refiner:
    """Build a refiner by name, e.g. ``create("fastcut", preset="paper")``.

    Keyword arguments are the fields of ``refiner`` in sim2real/conf/refine.yaml (a plain dict or the
    composed config); anything not given takes the schema's default.
    """
    return REFINERS.create(name, **kwargs)


def names() -> list[str]:
    return REFINERS.names()
