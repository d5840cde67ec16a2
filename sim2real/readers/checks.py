"""The one validation pass every reader of outside labels runs its boxes through.

Boxes are xyxy pixels. A box reaching outside the image is clipped to it; a box with a NaN or
infinite coordinate, or of zero or negative size once clipped, is dropped. Every fix and drop
is counted by kind and file in the set's ``LabelIssues`` (``sim2real.records``), which the
readers' callers print and store in the imported set's manifest.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from sim2real.records import LabelIssues

CLIP_TOLERANCE_PX = 1e-3


def clean_boxes(boxes: np.ndarray, width: int | None, height: int | None, *, issues: LabelIssues,
                file: Path | str) -> tuple[np.ndarray, np.ndarray]:
    """(boxes clipped to the image, bool mask of the boxes kept), counting each fix in ``issues``."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    finite = np.isfinite(boxes).all(axis=1)
    issues.add("non_finite", file, int((~finite).sum()))
    out = np.where(finite[:, None], boxes, 0.0)
    if width and height:
        limit = np.array([width, height, width, height], np.float64)
        clipped = np.clip(out, 0.0, limit)
        moved = (np.abs(clipped - out) > CLIP_TOLERANCE_PX).any(axis=1) & finite
        out = clipped
    else:
        moved = np.zeros(len(out), bool)
    sized = (out[:, 2] > out[:, 0]) & (out[:, 3] > out[:, 1])
    degenerate = finite & ~sized
    issues.add("degenerate", file, int(degenerate.sum()))
    keep = finite & sized
    issues.add("clipped", file, int((moved & keep).sum()))
    return out.astype(np.float32), keep


def image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from the file header, without decoding; None when unreadable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                return im.size
    except Exception:  # unreadable or over PIL's pixel limit: counted when the image is loaded
        return None


def image_index(folder: Path) -> dict[str, list[Path]]:
    """Image files directly in ``folder`` by lower-case stem and by lower-case file name."""
    from sim2real.images import IMAGE_SUFFIXES

    index: dict[str, list[Path]] = {}
    if not folder.is_dir():
        return index
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."):
            index.setdefault("stem:" + p.stem.lower(), []).append(p)
            index.setdefault("name:" + p.name.lower(), []).append(p)
    return index
