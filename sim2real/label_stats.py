"""Label statistics of a detection set, and how far two sets' statistics lie apart.

What a refiner cannot change is the content: how large objects appear, how many there are
per image, where they sit, which classes, how often they run off the frame. Per box:

- ``size``: sqrt(box area / image area), the box's side as a share of the frame's;
- ``aspect``: log(width / height) of the box;
- ``cx``, ``cy``: the box centre as a share of the image width and height;
- ``truncated``: the box touches the image border (within ``BORDER`` of a side), the one
  truncation signal that photos' labels carry too;

per image ``count`` (boxes in it), and ``classes`` (box labels). ``distances`` compares two
sets statistic by statistic on one scale, [0, 1] (Kolmogorov-Smirnov for the continuous
ones, total variation for the classes, the difference of shares for truncation), so the
largest distance is the statistic that differs most. ``fit_loss`` is the smooth objective the
scene fit minimises (render/fit.py): Wasserstein-1 distances in units of the real spread.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
from scipy import stats

BORDER = 0.005  # a box within half a percent of the image side touches the border
CONTINUOUS = ("size", "aspect", "count", "cx", "cy")
NAMES = (*CONTINUOUS, "classes", "truncated")
LABELS = {  # plain words for plots and the verdict
    "size": "box size (sqrt(area) / frame side)",
    "aspect": "box aspect, log(w / h)",
    "count": "objects per image",
    "cx": "box centre x (share of width)",
    "cy": "box centre y (share of height)",
    "classes": "class balance",
    "truncated": "boxes cut by the frame",
}


@dataclass
class LabelStats:
    """Per-box and per-image label statistics of one set (see the module docstring)."""

    size: np.ndarray
    aspect: np.ndarray
    cx: np.ndarray
    cy: np.ndarray
    truncated: np.ndarray
    count: np.ndarray
    classes: list[str] = field(default_factory=list)

    @property
    def num_images(self) -> int:
        return len(self.count)

    @property
    def num_boxes(self) -> int:
        return len(self.size)

    def values(self, name: str) -> np.ndarray:
        return getattr(self, name)

    def class_shares(self, classes: Sequence[str] | None = None) -> dict[str, float]:
        names = list(classes) if classes is not None else sorted(set(self.classes))
        counts = Counter(self.classes)
        total = max(sum(counts[c] for c in names), 1)
        return {c: counts[c] / total for c in names}

    def summary(self) -> dict:
        """Medians and shares a person reads (JSON-able)."""
        med = {n: round(float(np.median(self.values(n))), 4) if len(self.values(n)) else None for n in CONTINUOUS}
        return {"images": self.num_images, "boxes": self.num_boxes, "median": med,
                "truncated_share": round(float(self.truncated.mean()), 4) if self.num_boxes else None,
                "empty_images": int((self.count == 0).sum()),
                "class_shares": {k: round(v, 4) for k, v in self.class_shares().items()}}


def from_boxes(images: Iterable[tuple[int, int, np.ndarray, Sequence[str]]]) -> LabelStats:
    """Statistics of ``(width, height, boxes xyxy in pixels, labels)`` per image."""
    size, aspect, cx, cy, trunc, count, classes = [], [], [], [], [], [], []
    for width, height, boxes, labels in images:
        b = np.asarray(boxes, np.float64).reshape(-1, 4)
        w, h = np.clip(b[:, 2] - b[:, 0], 1e-6, None), np.clip(b[:, 3] - b[:, 1], 1e-6, None)
        size.append(np.sqrt(w * h / (width * height)))
        aspect.append(np.log(w / h))
        cx.append((b[:, 0] + b[:, 2]) / 2 / width)
        cy.append((b[:, 1] + b[:, 3]) / 2 / height)
        tx, ty = BORDER * width, BORDER * height
        trunc.append((b[:, 0] <= tx) | (b[:, 1] <= ty) | (b[:, 2] >= width - tx) | (b[:, 3] >= height - ty))
        count.append(len(b))
        classes.extend(str(c) for c in labels)
    cat = (lambda xs, dtype=np.float64: np.concatenate(xs).astype(dtype) if xs else np.zeros(0, dtype))
    return LabelStats(size=cat(size), aspect=cat(aspect), cx=cat(cx), cy=cat(cy), truncated=cat(trunc, bool),
                      count=np.asarray(count, np.float64), classes=classes)


def from_records(records) -> LabelStats:
    """Statistics of ``Record``s (sim2real.records); ignore regions are left out. A record
    without its size recorded is read from the image header."""
    from PIL import Image

    def size_of(rec) -> tuple[int, int]:
        if rec.width and rec.height:
            return int(rec.width), int(rec.height)
        with Image.open(rec.image_path) as im:
            return im.size

    rows = []
    for rec in records:
        keep = ~rec.ignore
        rows.append((*size_of(rec), rec.boxes[keep], [lab for lab, k in zip(rec.labels, keep) if k]))
    return from_boxes(rows)


def distances(real: LabelStats, other: LabelStats) -> dict[str, float]:
    """One distance on [0, 1] per statistic (NaN where either set has no boxes)."""
    out: dict[str, float] = {}
    for name in CONTINUOUS:
        a, b = real.values(name), other.values(name)
        out[name] = float(stats.ks_2samp(a, b).statistic) if len(a) and len(b) else float("nan")
    if real.num_boxes and other.num_boxes:
        names = sorted(set(real.classes) | set(other.classes))
        p, q = real.class_shares(names), other.class_shares(names)
        out["classes"] = 0.5 * sum(abs(p[c] - q[c]) for c in names)
        out["truncated"] = abs(float(real.truncated.mean()) - float(other.truncated.mean()))
    else:
        out["classes"] = out["truncated"] = float("nan")
    return {k: round(v, 4) for k, v in out.items()}


def fit_terms(real: LabelStats, other: LabelStats, names: Sequence[str] = CONTINUOUS) -> dict[str, float]:
    """One term per statistic in ``names``: the Wasserstein-1 distance in units of the real set's
    spread (its standard deviation; 1 where it has none), plus ``truncated``, the truncation
    share difference. Informative even when the sets do not overlap at all, where KS is stuck at 1."""
    if not other.num_boxes:  # no box at all: worse than any set with boxes
        return {**{name: 10.0 for name in names}, "truncated": 1.0}
    out = {}
    for name in names:
        a, b = real.values(name), other.values(name)
        spread = float(np.std(a)) or 1.0
        out[name] = float(stats.wasserstein_distance(a, b)) / spread
    out["truncated"] = abs(float(real.truncated.mean()) - float(other.truncated.mean()))
    return out


def fit_loss(real: LabelStats, other: LabelStats, names: Sequence[str] = CONTINUOUS) -> float:
    """The sum of ``fit_terms``: what the scene fit minimises."""
    return float(sum(fit_terms(real, other, names).values()))
