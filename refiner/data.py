"""Refiner inputs: the sim dataset (images + instance masks) and unlabelled real photos.

Both are small enough at refiner scale to hold in memory as uint8; training draws random
crops (``data.crop``) with horizontal flips. Bad input fails early with a one-line
``DatasetError`` naming the path and, where it helps, the key to change.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from sim2real.dataset import DatasetReader
from sim2real.errors import DatasetError
from sim2real.images import SkipCounter, list_images
from sim2real.readers import load_unlabelled

log = logging.getLogger(__name__)
_GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"})


@dataclass
class SimData:
    dataset: DatasetReader
    images: list[np.ndarray]  # HxWx3 uint8
    instance: list[np.ndarray]  # HxW instance ids
    semantic: list[np.ndarray]  # HxW task-net target: 1 = any object, 0 = background

    # The task net segments objects from background, class-agnostic: refinement must keep
    # every object's pixels where they are; telling a disc from a square is not its job.
    num_classes = 2

    def fg(self, i: int) -> np.ndarray:
        return (self.instance[i] > 0).astype(np.float32)


def to_grey3(img: np.ndarray) -> np.ndarray:
    grey = (img.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)).round().astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def load_sim(path: str | Path, *, grayscale: bool = False) -> SimData:
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"data.sim={path}: no such dataset")
    ds = DatasetReader(path)
    if len(ds) == 0:
        raise DatasetError(f"data.sim={path}: dataset holds no images")
    if not ds.has_masks:
        raise DatasetError(f"data.sim={path}: sim dataset has no instance masks (masks/*.png); "
                           "the refiner needs them for its foreground/background losses")
    images, instance, semantic = [], [], []
    for i, rec in enumerate(ds.records):
        img = ds.image(i)
        ids = ds.mask(i)
        if ids.shape != img.shape[:2]:
            raise DatasetError(f"{rec.mask_path}: mask {ids.shape} does not match image {img.shape[:2]}")
        labelled = np.zeros(int(ids.max()) + 1, np.uint8)
        labelled[[i for i in rec.instance_ids if 0 < i < len(labelled)]] = 1  # ids with annotations
        images.append(to_grey3(img) if grayscale else img)
        instance.append(ids)
        semantic.append(labelled[ids])
    return SimData(ds, images, instance, semantic)


def _channels_of(path: Path) -> int | None:
    try:
        with Image.open(path) as img:
            return 1 if img.mode in _GREY_MODES else 3
    except Exception:  # unreadable files are counted later by SkipCounter
        return None


def check_channels(sim: SimData, real_paths: list[Path], real_arg: str, *, grayscale: bool, sample: int = 16) -> None:
    """Greyscale photos are read as RGB (three equal channels, as README says). Against colour
    renders the refiner then learns to take the colour out, which the labels survive but a
    detector may not need: say so, and how to refine in grey instead."""
    if grayscale:
        return
    real_ch = {c for c in (_channels_of(p) for p in real_paths[:sample]) if c}
    sim_ch = {_channels_of(r.image_path) for r in sim.dataset.records[:sample]} - {None}
    if real_ch and sim_ch and real_ch.isdisjoint(sim_ch):
        log.warning("data.real=%s: the photos have %s and the renders %s; both are read as RGB (a grey image as "
                    "three equal channels). Set data.grayscale=true to refine in greyscale.", real_arg,
                    "1 channel" if 1 in real_ch else "3 channels", "1" if 1 in sim_ch else "3")


def load_real(path: str | Path, *, target_short: int | None, max_images: int | None = None,
              grayscale: bool = False) -> tuple[list[np.ndarray], list[Path], SkipCounter]:
    """Read the real photos (any reader format, labels ignored), rescaled to the sim scale."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"data.real={path}: no such folder")
    if path.is_dir() and not (path / "dataset.json").exists() and not list_images(path):
        raise DatasetError(f"data.real={path}: folder holds no images")
    paths = load_unlabelled(path)
    if max_images:
        paths = paths[:max_images]
    skips = SkipCounter("real images")
    images = []
    for p in paths:
        img = skips.read(p)
        if img is None:
            continue
        if target_short:
            img = rescale_short(img, target_short)
        images.append(to_grey3(img) if grayscale else img)
    skips.report()
    if not images:
        raise DatasetError(f"data.real={path}: none of its {len(paths)} images could be read")
    return images, paths, skips


def rescale_short(img: np.ndarray, short: int) -> np.ndarray:
    h, w = img.shape[:2]
    if min(h, w) == short:
        return img
    s = short / min(h, w)
    size = (max(short, round(w * s)), max(short, round(h * s)))
    return np.asarray(Image.fromarray(img).resize(size, Image.BILINEAR))


def to_tensor(img: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8 -> 3xHxW float in [-1, 1]."""
    return torch.from_numpy(np.array(img, dtype=np.float32)).permute(2, 0, 1).div_(127.5).sub_(1.0)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """3xHxW float in [-1, 1] -> HxWx3 uint8."""
    return ((x.float().clamp(-1, 1) + 1.0) * 127.5).round().byte().permute(1, 2, 0).cpu().numpy()


class CropPairs(torch.utils.data.Dataset):
    """One item: a random sim crop with its foreground mask, and a random real crop.

    Crops smaller than ``crop`` (tiny images) are taken whole after reflect padding.
    ``length`` only sets how often Lightning calls it an epoch; training is step-counted.
    """

    def __init__(self, sim: SimData, real: list[np.ndarray], crop: int, length: int | None = None) -> None:
        self.sim, self.real, self.crop = sim, real, crop
        self.length = length or max(len(sim.images), len(real))

    def __len__(self) -> int:
        return self.length

    def _crop(self, *arrays: np.ndarray) -> list[np.ndarray]:
        h, w = arrays[0].shape[:2]
        c = self.crop
        if h < c or w < c:
            ph, pw = max(0, c - h), max(0, c - w)
            arrays = tuple(np.pad(a, ((0, ph), (0, pw)) + ((0, 0),) * (a.ndim - 2), mode="reflect") for a in arrays)
            h, w = arrays[0].shape[:2]
        y0 = int(torch.randint(h - c + 1, (1,)))
        x0 = int(torch.randint(w - c + 1, (1,)))
        flip = bool(torch.rand(()) < 0.5)
        out = [a[y0:y0 + c, x0:x0 + c] for a in arrays]
        return [a[:, ::-1] for a in out] if flip else out

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        i = index % len(self.sim.images)
        sim, fg = self._crop(self.sim.images[i], self.sim.fg(i))
        (real,) = self._crop(self.real[int(torch.randint(len(self.real), (1,)))])
        return {"sim": to_tensor(sim), "mask": torch.from_numpy(np.ascontiguousarray(fg))[None], "real": to_tensor(real)}
