"""Domain-adversarial feature alignment (``align.*``): the detector's features are made alike on
renders and on unlabelled real photos.

A small domain classifier reads every FPN level of the backbone and tells renders (0) from
photos (1); a gradient reversal layer between the two (Ganin & Lempitsky 2015, DANN) makes the
backbone learn features that the classifier cannot tell apart, while the detection losses keep
them useful. The classifier is per location, as in the image-level branch of Domain Adaptive
Faster R-CNN (Chen et al. 2018). The reversal's strength ramps from 0 to 1 over the phase
(DANN's ``2 / (1 + exp(-10 p)) - 1``), so early, still random features are not aligned.

It runs in the phases that train on renders without real labels in view of the classifier:
``synthetic`` (the pretraining of ``schedule=finetune``) and ``merged``. The photos' labels, if
any, are never read, and photos of the test sets are left out.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping, Sequence

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, RandomSampler

from sim2real.errors import ConfigError
from sim2real.records import Record
from train.data import DetectionDataset, collate
from train.sources import Sample

PHASES = ("synthetic", "merged")  # the phases that align


def check(cfg) -> None:
    a = cfg.align
    if not a.source:
        return
    if a.weight <= 0:
        raise ConfigError(f"align.weight must be positive, got {a.weight}")
    if a.batch_size is not None and a.batch_size < 1:
        raise ConfigError(f"align.batch_size must be at least 1, got {a.batch_size}")
    if not Path(a.source).exists():
        raise ConfigError(f"align.source: {a.source} does not exist")


class _ReverseGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, coeff: float) -> torch.Tensor:
        ctx.coeff = coeff
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.coeff * grad, None


def reverse_grad(x: torch.Tensor, coeff: float) -> torch.Tensor:
    """Identity forward; the gradient times ``-coeff`` backward."""
    return _ReverseGrad.apply(x, coeff)


def ramp(progress: float) -> float:
    """DANN's schedule of the reversal's strength: 0 at the start of a phase, ~1 at its end."""
    return 2.0 / (1.0 + math.exp(-10.0 * min(max(progress, 0.0), 1.0))) - 1.0


def standardise(f: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Each location's channels to zero mean and unit variance: the classifier reads the features'
    pattern, not their scale, so the backbone cannot fool it by growing them without bound."""
    mean = f.mean(dim=1, keepdim=True)
    return (f - mean) / (f.var(dim=1, keepdim=True, unbiased=False) + eps).sqrt()


class DomainAlign(nn.Module):
    """The domain classifier, shared by the FPN levels, and its loss."""

    def __init__(self, channels: int, *, weight: float, hidden: int = 64) -> None:
        super().__init__()
        self.weight = float(weight)
        self.head = nn.Sequential(nn.Conv2d(channels, hidden, 3, padding=1), nn.ReLU(inplace=True),
                                  nn.Conv2d(hidden, 1, 1))

    def logits(self, features: Mapping[str, torch.Tensor], coeff: float) -> list[torch.Tensor]:
        return [self.head(standardise(reverse_grad(f, coeff))) for f in features.values()]

    def forward(self, renders: Mapping[str, torch.Tensor], photos: Mapping[str, torch.Tensor],
                coeff: float) -> tuple[torch.Tensor, torch.Tensor]:
        """``weight`` x the classifier's loss (mean over levels and locations), and its accuracy."""
        losses, right, total = [], 0.0, 0
        for domain, feats in ((0.0, renders), (1.0, photos)):
            for z in self.logits(feats, coeff):
                losses.append(F.binary_cross_entropy_with_logits(z, torch.full_like(z, domain)))
                right += float(((z > 0).float() == domain).sum())
                total += z.numel()
        return self.weight * torch.stack(losses).mean(), torch.tensor(right / max(total, 1))


def fpn_channels(model: nn.Module) -> int:
    """The backbone's output channels (every torchvision detector's backbone has ``out_channels``)."""
    channels = getattr(getattr(model, "backbone", None), "out_channels", None)
    if not channels:
        raise ConfigError("align: the detector's backbone has no out_channels (not a torchvision FPN detector)")
    return int(channels)


def photo_loader(source: str | Path, exclude: set[Path], classes: Sequence[str], *, batch_size: int,
                 num_samples: int, seed: int) -> DataLoader:
    """``num_samples`` photos of ``source`` drawn with replacement (labels ignored), ``exclude`` left out."""
    from train.pseudo import unlabelled_records

    records: list[Record] = unlabelled_records(source, exclude)
    if not records:
        raise ConfigError(f"align.source: {source} holds no photo outside the test sets")
    data = DetectionDataset([Sample(record=r, box_attrs=[], source="align") for r in records], classes, scoring=True)
    generator = torch.Generator().manual_seed(seed + 7919)
    sampler = RandomSampler(data, replacement=True, num_samples=max(num_samples, batch_size), generator=generator)
    return DataLoader(data, batch_size=batch_size, sampler=sampler, collate_fn=collate, drop_last=True)
