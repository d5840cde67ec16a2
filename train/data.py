"""Torch datasets and loaders over ``Sample`` lists (see ``train.sources``).

Targets follow torchvision's detection API: ``boxes`` xyxy float32 pixels, ``labels`` int64
with 0 reserved for background (scene class ``k`` is label ``k + 1``), ``masks`` uint8 NxHxW
when the detector wants them. Ignore regions (``Record.ignore``) are left out of training
targets; scoring targets keep them, flagged in ``iscrowd``, so they count neither way. Images are read lazily (PNG decode of a 128-px render is
cheaper than holding thousands in memory).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import ConcatDataset, DataLoader, Dataset, WeightedRandomSampler

from sim2real.errors import ConfigError, DatasetError
from sim2real.images import read_mask, read_rgb
from sim2real.masks import decode_rle
from train.sources import Sample


def instance_masks(sample: Sample, height: int, width: int) -> np.ndarray:
    """N x H x W uint8 masks aligned with the sample's boxes (id map first, then RLE)."""
    rec = sample.record
    if rec.mask_path is not None and rec.instance_ids and len(rec.instance_ids) == len(rec.boxes):
        ids = read_mask(rec.mask_path)
        return np.stack([ids == i for i in rec.instance_ids]).astype(np.uint8) if rec.instance_ids else np.zeros((0, height, width), np.uint8)
    if rec.segmentations is not None and all(isinstance(s, dict) and s for s in rec.segmentations):
        if not rec.segmentations:
            return np.zeros((0, height, width), np.uint8)
        return np.stack([decode_rle(s) for s in rec.segmentations]).astype(np.uint8)
    if len(rec.boxes) == 0:
        return np.zeros((0, height, width), np.uint8)
    raise DatasetError(f"{rec.image_path}: the detector needs instance masks and this image has none "
                       "(use a sim2real dataset or COCO with RLE segmentations, or a box-only detector)")


class DetectionDataset(Dataset):
    """``(image CHW float in [0, 1], target)`` per sample (augmentation runs batched in the module).

    ``scoring=True``: targets keep ignore regions, flagged in ``iscrowd`` (evaluation and
    validation); otherwise they are left out (training).
    """

    def __init__(self, samples: Sequence[Sample], classes: Sequence[str], *, with_masks: bool = False,
                 scoring: bool = False, transform: Callable[[torch.Tensor], torch.Tensor] | None = None) -> None:
        self.samples = list(samples)
        self.index = {name: i + 1 for i, name in enumerate(classes)}
        self.with_masks = with_masks
        self.scoring = scoring
        self.transform = transform  # image -> image, pixels only (e.g. the learned camera: train/camera_augment.py)

    def __len__(self) -> int:
        return len(self.samples)

    def target(self, i: int, height: int, width: int) -> dict:
        sample = self.samples[i]
        rec = sample.record
        if not self.scoring and rec.ignore.any():
            rec = rec.select(~rec.ignore)
            sample = Sample(record=rec, box_attrs=[], source=sample.source)
        target = {
            "boxes": torch.as_tensor(rec.boxes, dtype=torch.float32).reshape(-1, 4),
            "labels": torch.as_tensor([self.index[n] for n in rec.labels], dtype=torch.int64),
            "image_id": torch.tensor(i),
        }
        if self.scoring:
            target["iscrowd"] = torch.as_tensor(rec.ignore, dtype=torch.int64)
        if self.with_masks:
            target["masks"] = torch.from_numpy(instance_masks(sample, height, width))
        return target

    def __getitem__(self, i: int) -> tuple[torch.Tensor, dict]:
        rgb = read_rgb(self.samples[i].record.image_path)
        image = torch.tensor(rgb).permute(2, 0, 1).float().div_(255.0)  # copy: decoded arrays are read-only
        if self.transform is not None:
            image = self.transform(image)
        return image, self.target(i, rgb.shape[0], rgb.shape[1])


def collate(batch: list[tuple[torch.Tensor, dict]]) -> tuple[list[torch.Tensor], list[dict]]:
    images, targets = zip(*batch)
    return list(images), list(targets)


def train_loader(parts: Sequence[DetectionDataset], weights: Sequence[float] | None, *, batch_size: int,
                 num_workers: int, seed: int, epoch_size: int | None = None) -> DataLoader:
    """Shuffled loader over all parts; with ``weights``, each part is drawn with that share.

    ``epoch_size``: at least this many samples per epoch; a smaller set is drawn with
    replacement up to it (equal step budgets for sets of different sizes).
    """
    data = ConcatDataset(parts)
    generator = torch.Generator().manual_seed(seed)
    num_samples = max(len(data), int(epoch_size or 0))
    kw = dict(batch_size=batch_size, num_workers=num_workers, collate_fn=collate,
              persistent_workers=num_workers > 0, drop_last=num_samples > batch_size)
    if weights is None:
        if num_samples == len(data):
            return DataLoader(data, shuffle=True, generator=generator, **kw)
        weights = [float(len(p)) for p in parts]
    if len(weights) != len(parts):
        raise ConfigError(f"data.weights has {len(weights)} entries for {len(parts)} training sources")
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ConfigError(f"data.weights must be non-negative with a positive sum, got {list(weights)}")
    per_sample = torch.cat([torch.full((len(p),), w / max(len(p), 1), dtype=torch.double)
                            for p, w in zip(parts, weights)])
    sampler = WeightedRandomSampler(per_sample, num_samples=num_samples, replacement=True, generator=generator)
    return DataLoader(data, sampler=sampler, **kw)


def eval_loader(data: DetectionDataset, *, batch_size: int, num_workers: int = 0) -> DataLoader:
    return DataLoader(data, batch_size=batch_size, shuffle=False, num_workers=num_workers, collate_fn=collate)
