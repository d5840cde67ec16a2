"""Refiner models; importing this package registers them (see refiner.registry)."""
from refiner.models.base import Phase, Refiner
from refiner.models.camera import CameraRefiner
from refiner.models.cut import CUT, FastCUT
from refiner.models.cyclegan import CycleGAN
from refiner.models.simgan import SimGAN

__all__ = ["CUT", "CameraRefiner", "CycleGAN", "FastCUT", "Phase", "Refiner", "SimGAN"]
