"""The refiners (``refiner.name``). Each model module registers its class here with its schema
(refiner/config.py) and presets; ``refiner.models`` imports them all and builds one with
``create(name, **kw)``. This module imports no model."""
from __future__ import annotations

from sim2real.registry import Registry

REFINERS = Registry("refiner", key="refiner.name")
register = REFINERS.register
