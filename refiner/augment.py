"""DiffAugment (Zhao et al. 2020) on kornia: differentiable colour, translation and cutout.

Applied to every image the discriminator sees, real and refined alike, so a small real set
does not let the discriminator memorise it. Gradients flow through to the generator.
"""
from __future__ import annotations

from typing import Callable

import kornia.augmentation as K
import torch
from torch import nn

POLICIES: dict[str, Callable[[], nn.Module]] = {
    "color": lambda: K.ColorJitter(brightness=0.25, contrast=0.3, saturation=0.5, hue=0.0, p=1.0),
    "translation": lambda: K.RandomAffine(degrees=0.0, translate=(0.125, 0.125), padding_mode="zeros", p=1.0),
    "cutout": lambda: K.RandomErasing(scale=(0.2, 0.3), ratio=(1.0, 1.0), value=0.0, p=1.0),
}


class DiffAugment(nn.Module):
    """Random, differentiable augmentation of images in [-1, 1] (identity when disabled)."""

    def __init__(self, policy: list[str] | tuple[str, ...] = ("color", "translation", "cutout"),
                 enabled: bool = True) -> None:
        super().__init__()
        unknown = [p for p in policy if p not in POLICIES]
        if unknown:
            raise ValueError(f"unknown DiffAugment policy {unknown}; known: {sorted(POLICIES)}")
        self.ops = nn.ModuleList(POLICIES[p]() for p in policy) if enabled else nn.ModuleList()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.ops:
            return x
        dtype = x.dtype
        y = (x.float() + 1.0) * 0.5
        for op in self.ops:
            y = op(y)
        return (y * 2.0 - 1.0).to(dtype)
