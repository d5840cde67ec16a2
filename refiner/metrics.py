"""Realism and label metrics, reusable on any image sets.

- ``c2st(real, other)``: classifier two-sample test (Lopez-Paz & Oquab 2017). A small CNN
  learns real-vs-other on one split and is scored on the held-out split; the balanced
  accuracy is returned: 0.5 = indistinguishable, 1.0 = always told apart. With ``folds`` > 1
  every image is scored once (k-fold) and the accuracies are averaged.
- ``label_preservation``: the frozen task net's mask IoU with the ground truth on refined
  images divided by the same on the sim images (1.0 = refinement lost nothing it can see).
- ``kid``: Kernel Inception Distance, only with a local Inception weights file.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from sim2real.errors import ConfigError, DatasetError
from sim2real.images import SkipCounter

log = logging.getLogger(__name__)
ImageSource = Union[Sequence[Union[str, Path]], Sequence[np.ndarray]]


def _square(img: np.ndarray, size: int) -> np.ndarray:
    """Shorter side to ``size``, centre crop: no aspect distortion a classifier could key on."""
    h, w = img.shape[:2]
    s = size / min(h, w)
    im = Image.fromarray(img).resize((max(size, round(w * s)), max(size, round(h * s))), Image.BILINEAR)
    W, H = im.size
    left, top = (W - size) // 2, (H - size) // 2
    return np.asarray(im.crop((left, top, left + size, top + size)))


def load_images(source: ImageSource, size: int, max_images: int | None = None, *, rng: np.random.Generator) -> torch.Tensor:
    """N x 3 x size x size float in [-1, 1]; unreadable files are counted and skipped."""
    items = list(source)
    if max_images and len(items) > max_images:
        items = [items[i] for i in sorted(rng.choice(len(items), max_images, replace=False))]
    skips = SkipCounter("images (c2st)")
    out = []
    for item in items:
        img = item if isinstance(item, np.ndarray) else skips.read(Path(item))
        if img is not None:
            out.append(torch.from_numpy(np.array(_square(img, size))).permute(2, 0, 1))
    skips.report()
    if not out:
        raise DatasetError("c2st: an image set is empty (or none of its images could be read)")
    return torch.stack(out).float().div_(127.5).sub_(1.0)


class _Critic(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        w = width
        self.net = nn.Sequential(
            nn.Conv2d(3, w, 3, 2, 1), nn.LeakyReLU(0.2, True),
            nn.Conv2d(w, 2 * w, 3, 2, 1), nn.BatchNorm2d(2 * w), nn.LeakyReLU(0.2, True),
            nn.Conv2d(2 * w, 4 * w, 3, 2, 1), nn.BatchNorm2d(4 * w), nn.LeakyReLU(0.2, True),
            nn.Conv2d(4 * w, 4 * w, 3, 2, 1), nn.BatchNorm2d(4 * w), nn.LeakyReLU(0.2, True),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * w, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


def _fit_score(xa: torch.Tensor, xb: torch.Tensor, train_a: np.ndarray, train_b: np.ndarray,
               test_a: np.ndarray, test_b: np.ndarray, *, steps: int, width: int, seed: int) -> float:
    torch.manual_seed(seed)
    net = _Critic(width)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    x = torch.cat([xa[train_a], xb[train_b]])
    y = torch.cat([torch.ones(len(train_a)), torch.zeros(len(train_b))])
    weights = torch.cat([torch.full((len(train_a),), 0.5 / len(train_a)), torch.full((len(train_b),), 0.5 / len(train_b))])
    n, bs = len(x), min(32, len(x))
    gen = torch.Generator().manual_seed(seed)
    net.train()
    for _ in range(steps):
        idx = torch.randperm(n, generator=gen)[:bs]
        xb_ = x[idx]
        flip = torch.rand(len(idx), generator=gen) < 0.5
        xb_ = torch.where(flip[:, None, None, None], xb_.flip(3), xb_)
        loss = (F.binary_cross_entropy_with_logits(net(xb_), y[idx], reduction="none") * weights[idx]).sum() / weights[idx].sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    net.eval()
    with torch.inference_mode():
        tpr = (net(xa[test_a]) > 0).float().mean().item()
        tnr = (net(xb[test_b]) <= 0).float().mean().item()
    return 0.5 * (tpr + tnr)


def c2st(real: ImageSource, other: ImageSource, *, size: int = 64, steps: int = 150, width: int = 16,
         folds: int = 2, max_images: int | None = 400, seed: int = 0) -> float:
    """Balanced accuracy of a small CNN telling ``real`` from ``other`` on held-out images.

    ``real`` and ``other`` are lists of image paths or HxWx3 uint8 arrays. Deterministic for a
    seed. Needs at least 2 images per set and fold.
    """
    rng = np.random.default_rng(seed)
    with torch.random.fork_rng():
        xa = load_images(real, size, max_images, rng=rng)
        xb = load_images(other, size, max_images, rng=rng)
        folds = max(2, int(folds))
        if min(len(xa), len(xb)) < folds:
            raise DatasetError(f"c2st: needs at least {folds} images per set, got {len(xa)} and {len(xb)}")
        parts_a = np.array_split(rng.permutation(len(xa)), folds)
        parts_b = np.array_split(rng.permutation(len(xb)), folds)
        scores = []
        for k in range(folds):
            tr_a = np.concatenate([p for j, p in enumerate(parts_a) if j != k])
            tr_b = np.concatenate([p for j, p in enumerate(parts_b) if j != k])
            scores.append(_fit_score(xa, xb, tr_a, tr_b, parts_a[k], parts_b[k], steps=steps, width=width, seed=seed + k))
    return float(np.mean(scores))


def label_preservation(task_net: nn.Module, images_sim: list[np.ndarray], images_refined: list[np.ndarray],
                       semantic: list[np.ndarray], num_classes: int) -> dict[str, float]:
    """Object-mask IoU of the frozen task net on refined vs on sim images, and their ratio."""
    from refiner.data import to_tensor
    from refiner.tasknet import confusion

    totals = {"sim": torch.zeros(2, num_classes, dtype=torch.float64),
              "refined": torch.zeros(2, num_classes, dtype=torch.float64)}
    task_net.eval()
    for sim, ref, sem in zip(images_sim, images_refined, semantic):
        target = torch.from_numpy(sem.astype(np.int64))[None]
        totals["sim"] += confusion(task_net, to_tensor(sim)[None], target, num_classes)
        totals["refined"] += confusion(task_net, to_tensor(ref)[None], target, num_classes)

    def miou(t: torch.Tensor) -> float:
        present = t[1] > 0
        return float((t[0][present] / t[1][present]).mean()) if present.any() else float("nan")

    iou_sim, iou_ref = miou(totals["sim"]), miou(totals["refined"])
    return {"iou_sim": iou_sim, "iou_refined": iou_ref, "preservation": iou_ref / iou_sim if iou_sim > 0 else float("nan")}


def kid(real: ImageSource, other: ImageSource, *, weights: str, size: int = 299, max_images: int | None = 400,
        seed: int = 0) -> float:
    """Kernel Inception Distance with a local Inception weights file (nothing downloads)."""
    if not Path(weights).is_file():
        raise ConfigError(f"refiner.metrics.kid_weights={weights}: no such file")
    try:
        from torchmetrics.image.fid import NoTrainInceptionV3
        from torchmetrics.image.kid import KernelInceptionDistance
        extractor = NoTrainInceptionV3(name="inception-v3-compat", features_list=["2048"],
                                       feature_extractor_weights_path=str(weights))
    except Exception as exc:  # torch-fidelity missing or the weights do not fit
        raise ConfigError(f"refiner.metrics.kid_weights: cannot build the Inception extractor ({exc})".splitlines()[0]) from exc
    rng = np.random.default_rng(seed)
    xa = load_images(real, size, max_images, rng=rng)
    xb = load_images(other, size, max_images, rng=rng)
    metric = KernelInceptionDistance(feature=extractor, subset_size=min(len(xa), len(xb), 100))
    to_u8 = lambda x: ((x + 1) * 127.5).round().to(torch.uint8)  # noqa: E731
    metric.update(to_u8(xa), real=True)
    metric.update(to_u8(xb), real=False)
    mean, _ = metric.compute()
    return float(mean)
