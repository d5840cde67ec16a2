"""The learned camera as on-the-fly augmentation (``data.augment.camera``).

A ``camera`` refiner (sim2real/learned_camera.py) learns from unlabelled photos a distribution
over blur, white balance, exposure, sensor noise, tone curve and saturation. Refine-apply draws
one camera per render, once: the refined set. Here the detector's training draws a fresh camera
from that distribution each time it reads a render, so it sees every render through many
cameras like the photos' instead of one. Only the renders' parts get it (real photos already
come from a real camera); labels are untouched, since a camera moves no pixel.
"""
from __future__ import annotations

from pathlib import Path

import torch

from sim2real.errors import ConfigError
from sim2real.learned_camera import CameraModel

_KEYS = ("mean", "log_spread")


def check(cfg) -> None:
    a = cfg.data.augment
    if not a.camera:
        return
    if not 0.0 < a.camera_p <= 1.0:
        raise ConfigError(f"data.augment.camera_p must lie in (0, 1], got {a.camera_p}")
    load_camera(a.camera)  # a bad file fails here, before any work


def load_camera(path: str | Path) -> CameraModel:
    """The camera of a ``camera`` refiner's checkpoint (``<refine out>_refiner/checkpoints/last.ckpt``)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"data.augment.camera: {path} is not a file (a camera refiner's checkpoint)")
    try:  # weights only: a checkpoint a user hands over must not run code when loaded
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ConfigError(f"data.augment.camera: {path} does not load as plain weights "
                          f"({str(exc).splitlines()[0][:200]})") from None
    name = ckpt.get("refiner_name") if isinstance(ckpt, dict) else None
    if name != "camera":
        raise ConfigError(f"data.augment.camera: {path} holds a {name!r} refiner, not a camera refiner's checkpoint")
    state = {k.rsplit(".", 1)[-1]: v for k, v in ckpt["state_dict"].items() if k.rsplit(".", 1)[-1] in _KEYS
             and ".net_g." in f".{k}"}
    camera = CameraModel(blur_radius=int((ckpt.get("refiner_config") or {}).get("blur_radius", 3)))
    if set(state) != set(_KEYS) or state["mean"].shape != camera.mean.shape:
        raise ConfigError(f"data.augment.camera: {path} has no camera of {len(camera.names)} effects in its state_dict")
    camera.load_state_dict(state)
    return camera.eval().requires_grad_(False)


class CameraAugment:
    """Callable on one image (CHW float in [0, 1]): with probability ``p``, a fresh camera draw."""

    def __init__(self, camera: CameraModel, p: float = 1.0) -> None:
        self.camera, self.p = camera, float(p)

    @torch.no_grad()
    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        if self.p < 1.0 and float(torch.rand(())) >= self.p:
            return image
        return ((self.camera(image[None] * 2.0 - 1.0)[0] + 1.0) * 0.5).clamp_(0.0, 1.0)
