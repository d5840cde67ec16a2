"""Label-aware augmentation with kornia's ``AugmentationSequential``.

Geometry (flips, affine) moves the image, its boxes and its instance masks together; colour,
blur and noise touch the image only. After the transform boxes are clipped to the image and
dropped when they shrank below ``min_box_size`` pixels or kept less than ``min_visibility``
of their area inside the image. With masks, boxes are recomputed from the moved masks (tight
boxes even after rotation).
"""
from __future__ import annotations

from typing import Any

import kornia.augmentation as K
import torch

_PLUS_ONE = torch.tensor([0.0, 0.0, 1.0, 1.0])


class DetectionAugment:
    """Callable ``(images, targets) -> (images, targets)`` on a batch (lists, torchvision style)."""

    def __init__(self, cfg: Any) -> None:
        self.min_box_size = float(cfg.min_box_size)
        self.min_visibility = float(cfg.min_visibility)
        geometric: list[K.AugmentationBase2D] = []
        if cfg.hflip > 0:
            geometric.append(K.RandomHorizontalFlip(p=cfg.hflip))
        if cfg.vflip > 0:
            geometric.append(K.RandomVerticalFlip(p=cfg.vflip))
        if cfg.affine > 0:
            geometric.append(K.RandomAffine(degrees=cfg.degrees, translate=(cfg.translate, cfg.translate),
                                            scale=tuple(cfg.scale), p=cfg.affine))
        # One kornia op per colour property: ColorJitter's HSV round trip costs ~10x more on a CPU.
        photometric: list[K.AugmentationBase2D] = []
        if cfg.color > 0:
            for op, amount in ((K.RandomBrightness, cfg.brightness), (K.RandomContrast, cfg.contrast),
                               (K.RandomSaturation, cfg.saturation)):
                if amount > 0:
                    photometric.append(op((1 - amount, 1 + amount), p=cfg.color))
            if cfg.hue > 0:
                photometric.append(K.RandomHue((-cfg.hue, cfg.hue), p=cfg.color))
        if cfg.blur > 0:
            photometric.append(K.RandomGaussianBlur((3, 3), (0.1, 1.2), p=cfg.blur))
        if cfg.noise > 0:
            photometric.append(K.RandomGaussianNoise(std=0.03, p=cfg.noise))
        ops = geometric + photometric
        self.with_masks = K.AugmentationSequential(*ops, data_keys=["input", "bbox_xyxy", "mask"]) if ops else None
        self.boxes_only = K.AugmentationSequential(*ops, data_keys=["input", "bbox_xyxy"]) if ops else None
        self.image_only = K.AugmentationSequential(*ops, data_keys=["input"]) if ops else None

    def __call__(self, images: list[torch.Tensor], targets: list[dict]) -> tuple[list[torch.Tensor], list[dict]]:
        """Augment a batch in one kornia call (per-sample kornia calls cost ~10x more)."""
        if self.image_only is None or not images:
            return images, targets
        if len({tuple(im.shape) for im in images}) > 1:  # mixed sizes: one call per image
            pairs = [self([im], [t]) for im, t in zip(images, targets)]
            return [p[0][0] for p in pairs], [p[1][0] for p in pairs]
        x = torch.stack(images)
        b, _, h, w = x.shape
        n = max(len(t["boxes"]) for t in targets)
        if n == 0:
            return list(self.image_only(x).clamp(0, 1).unbind(0)), targets
        # kornia's xyxy is inclusive (x2 = x + w - 1); ours is pixel extent (x2 = x + w). Pad to n boxes.
        boxes = torch.zeros(b, n, 4)
        for i, t in enumerate(targets):
            boxes[i, : len(t["boxes"])] = t["boxes"] - _PLUS_ONE
        with_masks = all("masks" in t for t in targets)
        if with_masks:
            masks = torch.zeros(b, n, h, w)
            for i, t in enumerate(targets):
                masks[i, : len(t["masks"])] = t["masks"].float()
            x, moved, moved_masks = self.with_masks(x, boxes, masks)
        else:
            x, moved = self.boxes_only(x, boxes)
            moved_masks = None
        out_targets = []
        for i, t in enumerate(targets):
            k = len(t["boxes"])
            mm = moved_masks[i, :k] > 0.5 if moved_masks is not None else None
            keep, new_boxes = self._filter(moved[i, :k] + _PLUS_ONE, mm, w, h)
            out = {**t, "boxes": new_boxes[keep], "labels": t["labels"][keep]}
            if mm is not None:
                out["masks"] = mm[keep].to(t["masks"].dtype)
            out_targets.append(out)
        return list(x.clamp(0, 1).unbind(0)), out_targets

    def _filter(self, moved: torch.Tensor, masks: torch.Tensor | None, w: int, h: int) -> tuple[torch.Tensor, torch.Tensor]:
        full_area = (moved[:, 2] - moved[:, 0]).clamp(min=0) * (moved[:, 3] - moved[:, 1]).clamp(min=0)
        if masks is not None:
            boxes = torch.stack([_mask_box(m) for m in masks]) if len(masks) else moved
        else:
            boxes = moved.clone()
            boxes[:, 0::2] = boxes[:, 0::2].clamp(0, w)
            boxes[:, 1::2] = boxes[:, 1::2].clamp(0, h)
        bw, bh = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
        inside = bw.clamp(min=0) * bh.clamp(min=0)
        visible = inside / full_area.clamp(min=1e-6)
        keep = (bw >= self.min_box_size) & (bh >= self.min_box_size) & (visible >= self.min_visibility)
        return keep, boxes


def _mask_box(mask: torch.Tensor) -> torch.Tensor:
    """Tight pixel-extent box of a boolean mask (zeros for an empty one)."""
    ys = torch.nonzero(mask.any(dim=1)).flatten()
    xs = torch.nonzero(mask.any(dim=0)).flatten()
    if len(xs) == 0:
        return torch.zeros(4)
    return torch.tensor([xs[0], ys[0], xs[-1] + 1, ys[-1] + 1], dtype=torch.float32)
