"""The rendered frame: its size in pixels and, optionally, a real camera's intrinsics.

``resolution`` is the longer side of the frame and ``aspect`` its width / height (1: square).
``scene.camera.intrinsics`` names a JSON file with ``fx``, ``cx``, ``cy``, ``width`` and
``height`` in pixels (BOP's ``camera.json`` is one): it fixes the focal length
(``fx * sensor_mm / width``, Blender fits the sensor width to the longer side), the principal
point (as Blender's lens shift) and, unless ``aspect`` is set, the aspect ratio. Pure Python:
sampling and the occlusion raster use it without Blender.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sim2real.errors import ConfigError


@dataclass(frozen=True)
class Intrinsics:
    fx: float
    cx: float
    cy: float
    width: int
    height: int

    def focal_mm(self, sensor_mm: float) -> float:
        return self.fx * sensor_mm / max(self.width, self.height)

    def shift(self) -> tuple[float, float]:
        """Blender's (shift_x, shift_y): the principal point's offset from the frame centre."""
        side = max(self.width, self.height)
        return round((self.width / 2 - self.cx) / side, 6), round((self.cy - self.height / 2) / side, 6)


def load_intrinsics(path: str | Path) -> Intrinsics:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"scene.camera.intrinsics: cannot read {path} ({exc})") from None
    missing = [k for k in ("fx", "cx", "cy", "width", "height") if k not in data]
    if missing:
        raise ConfigError(f"scene.camera.intrinsics: {path} lacks {missing} (needs fx, cx, cy, width, height in pixels)")
    return Intrinsics(float(data["fx"]), float(data["cx"]), float(data["cy"]), int(data["width"]), int(data["height"]))


def frame_size(resolution: int, aspect: float) -> tuple[int, int]:
    """(width, height) in pixels: the longer side is ``resolution``."""
    if aspect >= 1:
        return int(resolution), max(1, round(resolution / aspect))
    return max(1, round(resolution * aspect)), int(resolution)


def apply_intrinsics(cfg) -> None:
    """Fix focal length, lens shift and aspect from ``scene.camera.intrinsics`` (in place)."""
    cam = cfg.scene.camera
    if not cam.intrinsics:
        cam.shift = [0.0, 0.0] if not cam.shift else list(cam.shift)
        if cfg.aspect is None:
            cfg.aspect = 1.0
        return
    k = load_intrinsics(cam.intrinsics)
    focal = round(k.focal_mm(cam.sensor_mm), 4)
    cam.focal_mm = [focal, focal]
    cam.shift = list(k.shift())
    if cfg.aspect is None:
        cfg.aspect = round(k.width / k.height, 6)
