"""The detectors (``detector.name``). train/detectors.py registers each builder here with what
callers may ask before building it (``needs_masks``, ``adapt_anchors``) and builds one with
``create(name, num_classes, image_size, **kw)``. This module imports no model."""
from __future__ import annotations

from sim2real.registry import Registry

DETECTORS = Registry("detector", key="detector.name")
register = DETECTORS.register
