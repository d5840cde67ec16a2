"""Coverage of the photos by the renders (Naeem et al. 2020, "Reliable fidelity and diversity
metrics for generative models"), in a random ResNet-18 feature space (pipeline/gap.py).

For each real image: the distance to its nearest render divided by the distance to its k-th
nearest other real image (its k-NN radius). A ratio below 1 means a render lies inside the
photo's neighbourhood, so the renders cover that photo; ``coverage`` is the share of photos
covered. Unlike a two-sample test it says *which* photos the renders miss: the ones with the
largest ratios are the domain's edge.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from PIL import Image

from sim2real.camera_stats import NAMES, image_stats
from sim2real.images import SkipCounter

# Features are taken on copies with this longer side: the trunk's cost grows with the pixels,
# and what coverage compares (layout, colour, texture) survives the downscale. Both sets get it.
FEATURE_SIDE = 128
# The random trunk ends after its second stage. Measured on 200 lmo renders against 100 lmo
# photos, which no one would call alike: coverage 0.04, 0.11, 0.27, 0.83 after stages 1 to 4,
# while two halves of one set stay at 0.93 to 0.99 at every depth. Deeper random stages wash
# out the differences, so the full trunk (the t-SNE's) would call lmo's renders covering.
FEATURE_STAGE = 2


def coverage_features() -> Callable[[torch.Tensor], torch.Tensor]:
    from pipeline.gap import random_features

    return random_features(FEATURE_STAGE)


@dataclass
class ImageSet:
    """What one read of each image yields: the kept paths (readable ones), their camera
    statistics (sim2real/camera_stats.py, at full resolution) and small copies for features."""

    paths: list[Path]
    stats: np.ndarray
    small: list[np.ndarray]
    skipped: int


def subsample(paths: Sequence[Path], max_images: int | None, seed: int) -> list[Path]:
    """At most ``max_images`` paths, drawn by a seeded RNG, in their original order."""
    paths = list(paths)
    if not max_images or len(paths) <= max_images:
        return paths
    keep = np.random.default_rng(seed).choice(len(paths), max_images, replace=False)
    return [paths[i] for i in sorted(keep)]


def shrink(img: np.ndarray, side: int = FEATURE_SIDE) -> np.ndarray:
    h, w = img.shape[:2]
    scale = side / max(h, w)
    if scale >= 1:
        return img
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(img).resize(size, Image.BILINEAR))


def read_set(paths: Sequence[Path], what: str) -> ImageSet:
    """Read each image once (unreadable ones counted and skipped): a photo of any size costs
    only its small copy in memory."""
    skips = SkipCounter(what)
    kept, stats, small = [], [], []
    for path in paths:
        img = skips.read(Path(path))
        if img is None:
            continue
        kept.append(Path(path))
        stats.append(image_stats(img))
        small.append(shrink(img))
    skips.report()
    return ImageSet(kept, np.stack(stats) if stats else np.zeros((0, len(NAMES)), np.float32), small, len(skips.skipped))


@torch.inference_mode()
def embed_arrays(images: Sequence[np.ndarray], features: Callable[[torch.Tensor], torch.Tensor],
                 *, batch: int = 32) -> np.ndarray:
    """One feature row per image, in order (images of one size go through together)."""
    rows: list[np.ndarray | None] = [None] * len(images)
    by_shape: dict[tuple, list[int]] = {}
    for i, img in enumerate(images):
        by_shape.setdefault(img.shape, []).append(i)
    for idx in by_shape.values():
        for start in range(0, len(idx), batch):
            part = idx[start:start + batch]
            x = torch.from_numpy(np.stack([images[i] for i in part])).permute(0, 3, 1, 2).float() / 255.0
            for i, row in zip(part, features(x).flatten(1).numpy()):
                rows[i] = row
    return np.stack(rows) if rows else np.zeros((0, 1), np.float32)


@dataclass
class Coverage:
    value: float  # share of real images with a render inside their k-NN ball (NaN: too few photos)
    ratios: np.ndarray  # per real image: nearest-render distance / k-th nearest real distance
    nearest: np.ndarray  # per real image: the index of its nearest render
    k: int


def coverage(real: np.ndarray, sim: np.ndarray, k: int = 5) -> Coverage:
    """Naeem et al.'s coverage of ``real`` feature rows by ``sim`` rows, features standardised
    over both sets together (so that no dimension's scale decides). ``k`` shrinks to the
    number of other photos when the set is tiny."""
    from scipy.spatial.distance import cdist

    k = min(k, len(real) - 1)
    if k < 1 or len(sim) == 0:
        return Coverage(float("nan"), np.full(len(real), np.nan), np.zeros(len(real), int), max(k, 0))
    both = np.concatenate([real, sim]).astype(np.float64)
    mean, std = both.mean(0), both.std(0) + 1e-6
    r, s = (real - mean) / std, (sim - mean) / std
    rr = cdist(r, r)
    np.fill_diagonal(rr, np.inf)
    radius = np.partition(rr, k - 1, axis=1)[:, k - 1]
    rs = cdist(r, s)
    nearest = rs.argmin(1)
    ratios = rs[np.arange(len(r)), nearest] / np.maximum(radius, 1e-12)
    return Coverage(float((ratios < 1).mean()), ratios, nearest, k)


def worst_figure(real: ImageSet, sim: ImageSet, cov: Coverage, out_png: Path, *, worst: int = 12,
                 per_row: int = 6) -> list[int]:
    """The worst-covered photos (largest ratios), each above its nearest render; returns their
    indices in ``real``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = [int(i) for i in np.argsort(-cov.ratios)[:worst] if np.isfinite(cov.ratios[i])]
    if not order:
        return []
    cols = min(per_row, len(order))
    blocks = -(-len(order) // cols)
    fig, axes = plt.subplots(2 * blocks, cols, figsize=(max(1.9 * cols, 6.5), 3.6 * blocks), dpi=100,
                             squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for n, i in enumerate(order):
        b, c = divmod(n, cols)
        axes[2 * b, c].imshow(real.small[i])
        axes[2 * b, c].set_title(f"photo, ratio {cov.ratios[i]:.2f}\n{real.paths[i].name}", fontsize=7)
        axes[2 * b + 1, c].imshow(sim.small[int(cov.nearest[i])])
        axes[2 * b + 1, c].set_title("its nearest render", fontsize=7)
    height = 3.6 * blocks  # inches
    fig.suptitle(f"Worst-covered photos (coverage {cov.value:.2f}; ratio > 1: no render within the photo's "
                 f"{cov.k}-NN radius)", fontsize=9, y=1 - 0.1 / height)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=1 - 0.6 / height, wspace=0.05,
                        hspace=0.35)  # fixed spacing: tight_layout costs seconds on this many axes
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png)
    plt.close(fig)
    return order
