"""Camera statistics of image sets: what a render's camera does differently from the photos'.

Per image: channel means and standard deviations, saturation (HSV, mean), noise (median
absolute Laplacian of the grey image), 5th/50th/95th grey percentiles and vignetting (centre
over border brightness). Two uses:

- ``stats_c2st(real, other)``: a two-sample test on these statistics alone, the 5-fold
  balanced accuracy of a standardised logistic regression (0.5 = the sets' cameras look alike).
  Cheap, and blind to content: it says whether a gap is in the camera, where the CNN c2st
  (refiner/metrics.py) mixes camera and content.
- ``median_rows(sets)``: each statistic's median per set, the report's table, so a user sees
  e.g. that the renders are about four times less noisy than the photos.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence, Union

import numpy as np
from scipy import ndimage

from sim2real.images import SkipCounter

NAMES = ["mean_r", "mean_g", "mean_b", "std_r", "std_g", "std_b", "saturation", "noise",
         "p05", "p50", "p95", "vignetting"]
Images = Union[Sequence[np.ndarray], Sequence[Union[str, Path]]]


def image_stats(img: np.ndarray) -> np.ndarray:
    """The statistics of one HxWx3 uint8 image, in ``NAMES`` order (intensities on [0, 1])."""
    x = img[..., :3].astype(np.float32) / 255.0
    grey = x @ np.array([0.299, 0.587, 0.114], np.float32)
    mx, mn = x.max(2), x.min(2)
    saturation = np.where(mx > 0, (mx - mn) / np.maximum(mx, 1e-6), 0.0).mean()
    noise = np.median(np.abs(ndimage.laplace(grey)))
    h, w = grey.shape
    centre = grey[h // 4: 3 * h // 4, w // 4: 3 * w // 4].mean()
    border = np.concatenate([grey[: max(1, h // 8)].ravel(), grey[-max(1, h // 8):].ravel(),
                             grey[:, : max(1, w // 8)].ravel(), grey[:, -max(1, w // 8):].ravel()]).mean()
    return np.array([*x.mean((0, 1)), *x.std((0, 1)), saturation, noise,
                     *np.percentile(grey, [5, 50, 95]), centre / max(border, 1e-3)], np.float32)


def stats_matrix(images: Images, max_images: int | None = None, seed: int = 0) -> np.ndarray:
    """N x len(NAMES) for arrays or image paths (unreadable files are counted and skipped)."""
    items = list(images)
    if max_images and len(items) > max_images:
        keep = np.random.default_rng(seed).choice(len(items), max_images, replace=False)
        items = [items[i] for i in sorted(keep)]
    skips = SkipCounter("images (camera statistics)")
    rows = []
    for item in items:
        img = item if isinstance(item, np.ndarray) else skips.read(Path(item))
        if img is not None:
            rows.append(image_stats(img))
    skips.report()
    return np.stack(rows) if rows else np.zeros((0, len(NAMES)), np.float32)


def stats_c2st(real: Images, other: Images, *, folds: int = 5, max_images: int | None = 400, seed: int = 0) -> float:
    """Balanced accuracy of a logistic regression telling ``real`` from ``other`` by camera
    statistics, k-fold; NaN when either set has fewer images than folds."""
    return separability(stats_matrix(real, max_images, seed), stats_matrix(other, max_images, seed),
                        folds=folds, seed=seed)


def separability(a: np.ndarray, b: np.ndarray, *, folds: int = 5, seed: int = 0) -> float:
    """``stats_c2st`` on statistics already computed (``stats_matrix``): one real set is read
    once however many sets it is compared with."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if min(len(a), len(b)) < folds:
        return float("nan")
    x, y = np.concatenate([a, b]), np.r_[np.ones(len(a)), np.zeros(len(b))]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, class_weight="balanced"))
    split = StratifiedKFold(folds, shuffle=True, random_state=seed)
    return float(cross_val_score(model, x, y, cv=split, scoring="balanced_accuracy").mean())


def median_rows(sets: Mapping[str, Images], max_images: int | None = 200,
                seed: int = 0) -> tuple[list[str], list[list]]:
    """Header and rows (one per statistic) of each set's median, for a table."""
    medians = {}
    for name, imgs in sets.items():
        m = stats_matrix(imgs, max_images, seed)
        medians[name] = np.median(m, 0) if len(m) else np.full(len(NAMES), np.nan)  # nothing readable
    return ["statistic", *sets], [[n, *[round(float(m[i]), 4) for m in medians.values()]] for i, n in enumerate(NAMES)]
