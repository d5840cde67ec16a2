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
    """Callable ``(image CHW float, target dict) -> (image, target)`` for one sample."""

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
                                            scale=tuple(cfg.scale), p=cfg.affine, padding_mode="reflection"))
        photometric: list[K.AugmentationBase2D] = []
        if cfg.color > 0:
            photometric.append(K.ColorJitter(cfg.brightness, cfg.contrast, cfg.saturation, cfg.hue, p=cfg.color))
        if cfg.blur > 0:
            photometric.append(K.RandomGaussianBlur((3, 3), (0.1, 1.2), p=cfg.blur))
        if cfg.noise > 0:
            photometric.append(K.RandomGaussianNoise(std=0.03, p=cfg.noise))
        ops = geometric + photometric
        self.with_masks = K.AugmentationSequential(*ops, data_keys=["input", "bbox_xyxy", "mask"]) if ops else None
        self.boxes_only = K.AugmentationSequential(*ops, data_keys=["input", "bbox_xyxy"]) if ops else None
        self.image_only = K.AugmentationSequential(*ops, data_keys=["input"]) if ops else None

    def __call__(self, image: torch.Tensor, target: dict) -> tuple[torch.Tensor, dict]:
        if self.image_only is None:
            return image, target
        boxes = target["boxes"]
        h, w = image.shape[-2:]
        if len(boxes) == 0:
            out = self.image_only(image[None])
            return out[0].clamp(0, 1), target
        # kornia's xyxy is inclusive (x2 = x + w - 1); ours is pixel extent (x2 = x + w).
        inclusive = (boxes - _PLUS_ONE)[None]
        masks = target.get("masks")
        if masks is not None:
            img, moved, moved_masks = self.with_masks(image[None], inclusive, masks[None].float())
            moved_masks = moved_masks[0] > 0.5
        else:
            img, moved = self.boxes_only(image[None], inclusive)
            moved_masks = None
        moved = moved[0] + _PLUS_ONE
        keep, new_boxes = self._filter(moved, moved_masks, w, h)
        out = {**target, "boxes": new_boxes[keep], "labels": target["labels"][keep]}
        if moved_masks is not None:
            out["masks"] = moved_masks[keep].to(masks.dtype)
        return img[0].clamp(0, 1), out

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
