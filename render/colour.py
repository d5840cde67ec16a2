"""Colour helpers without bpy: blackbody tint, HSV, and the sRGB view transform."""
from __future__ import annotations

import colorsys
import math

import numpy as np


def kelvin_to_rgb(kelvin: float) -> list[float]:
    """Linear RGB tint of a blackbody at ``kelvin`` (Tanner Helland's fit), max channel 1."""
    t = kelvin / 100.0
    r = 255.0 if t <= 66 else 329.698727446 * (t - 60) ** -0.1332047592
    g = 99.4708025861 * math.log(t) - 161.1195681661 if t <= 66 else 288.1221695283 * (t - 60) ** -0.0755148492
    b = 255.0 if t >= 66 else (0.0 if t <= 19 else 138.5177312231 * math.log(t - 10) - 305.0447927307)
    srgb = np.clip(np.array([r, g, b]) / 255.0, 0, 1)
    lin = srgb_to_linear(srgb)
    return (lin / lin.max()).tolist()


def hsv(rng: np.random.Generator, s=(0.2, 0.9), v=(0.2, 0.9)) -> list[float]:
    """A random colour as linear RGB."""
    rgb = colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(*s), rng.uniform(*v))
    return srgb_to_linear(np.array(rgb)).round(4).tolist()


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, float)
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def filmic(x: np.ndarray) -> np.ndarray:
    """Soft highlight roll-off (Reinhard on luminance-ish) before sRGB; keeps hue."""
    x = np.maximum(x, 0.0)
    return x * (1.0 + x / 4.0) / (1.0 + x)


VIEW_TRANSFORMS = {"standard": lambda x: x, "filmic": filmic}


def to_display(linear: np.ndarray, view: str = "standard") -> np.ndarray:
    """Scene-linear RGB (HxWx3 float) -> display sRGB uint8."""
    out = linear_to_srgb(VIEW_TRANSFORMS[view](linear))
    return (out * 255.0 + 0.5).astype(np.uint8)
