"""The proxy-real camera: what a real sensor and lens do to a scene-linear image (numpy).

Applied after the render to ``reality=proxy_real`` only. Nothing here moves content, so
labels stay exact: blur kernels are small and centred, and vignetting, white balance,
tone, noise and JPEG act per pixel or locally.
"""
from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image
from scipy import ndimage

from render.colour import kelvin_to_rgb, linear_to_srgb


def _u(rng: np.random.Generator, r) -> float:
    return float(rng.uniform(r[0], r[1])) if r[1] > r[0] else float(r[0])


def sample_params(rng: np.random.Generator, cm) -> dict:
    angle = rng.uniform(0, 180)
    return {
        "exposure_ev": round(_u(rng, cm.exposure_ev), 4),
        "white_balance_k": round(_u(rng, cm.white_balance_k), 1),
        "vignetting": round(_u(rng, cm.vignetting), 4),
        "defocus_sigma_px": round(_u(rng, cm.defocus_sigma_px), 4),
        "motion_blur_px": round(_u(rng, cm.motion_blur_px), 4),
        "motion_angle_deg": round(float(angle), 2),
        "shot_noise": round(_u(rng, cm.shot_noise), 5),
        "read_noise": round(_u(rng, cm.read_noise), 5),
        "tone_contrast": round(_u(rng, cm.tone_contrast), 4),
        "saturation": round(_u(rng, cm.saturation), 4),
        "jpeg_quality": int(round(_u(rng, cm.jpeg_quality))),
        "noise_seed": int(rng.integers(2**31)),
    }


def _motion_kernel(length: float, angle_deg: float) -> np.ndarray:
    n = max(1, int(math.ceil(length)) * 2 + 1)
    k = np.zeros((n, n))
    c = n // 2
    t = math.radians(angle_deg)
    for s in np.linspace(-length / 2, length / 2, 4 * n):
        k[int(round(c + s * math.sin(t))), int(round(c + s * math.cos(t)))] += 1
    return k / k.sum()


def apply(linear: np.ndarray, p: dict) -> np.ndarray:
    """Scene-linear HxWx3 float -> HxWx3 uint8 as a cheap real camera would record it."""
    img = linear.astype(np.float32) * (2.0 ** p["exposure_ev"])
    h, w = img.shape[:2]
    # Lens: defocus (Gaussian) and a short linear motion streak, then radial light falloff.
    if p["defocus_sigma_px"] > 0.05:
        img = ndimage.gaussian_filter(img, sigma=(p["defocus_sigma_px"], p["defocus_sigma_px"], 0))
    if p["motion_blur_px"] > 0.5:
        k = _motion_kernel(p["motion_blur_px"], p["motion_angle_deg"])
        img = np.stack([ndimage.convolve(img[..., c], k, mode="nearest") for c in range(3)], -1)
    yy, xx = np.mgrid[0:h, 0:w]
    r2 = ((xx - w / 2) ** 2 + (yy - h / 2) ** 2) / ((w / 2) ** 2 + (h / 2) ** 2)
    img *= (1.0 - p["vignetting"] * r2 ** 1.5)[..., None]
    # Sensor: photon (shot) noise scales with signal, read noise does not; colour-correlated a bit.
    rng = np.random.default_rng(p["noise_seed"])
    sigma = np.sqrt(np.maximum(img, 0) * p["shot_noise"] + p["read_noise"] ** 2)
    noise = rng.standard_normal(img.shape).astype(np.float32)
    noise = 0.7 * noise + 0.3 * noise.mean(-1, keepdims=True)
    img = img + sigma * noise
    # Camera pipeline: white balance set for the wrong illuminant, tone curve, saturation.
    wb = np.asarray(kelvin_to_rgb(6600.0), np.float32) / np.asarray(kelvin_to_rgb(p["white_balance_k"]), np.float32)
    wb /= wb[1]
    img = np.clip(img * wb, 0, None)
    img = img / (1.0 + img * 0.25) * 1.25  # highlight shoulder
    srgb = linear_to_srgb(img)
    c = p["tone_contrast"]
    srgb = np.clip(0.5 + (srgb - 0.5) * c + 0.04 * np.sin(2 * np.pi * srgb), 0, 1)  # S-curve
    grey = srgb.mean(-1, keepdims=True)
    srgb = np.clip(grey + (srgb - grey) * p["saturation"], 0, 1)
    out = (srgb * 255.0 + 0.5).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(out).save(buf, format="JPEG", quality=p["jpeg_quality"], subsampling=2)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"))
