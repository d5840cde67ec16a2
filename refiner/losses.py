"""Losses every refiner shares: one ``GANLoss(mode)``, region-weighted (FG/BG) terms, R1, PatchNCE.

Foreground/background (Wang et al. 2019): a sim image's instance mask splits its pixels. The
discriminator scores patches, so the mask is area-pooled to the score map and each region's
adversarial term is the mean over that region's patches, weighted by ``loss.fg.adv`` /
``loss.bg.adv``. Real photos have no masks: every real patch is a "real" target (a real photo's
objects and background together define what real looks like). See docs/refiner.md.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

_EPS = 1e-6


def _lsgan(pred: torch.Tensor, real: bool, for_d: bool) -> torch.Tensor:
    return (pred - (1.0 if real else 0.0)) ** 2


def _vanilla(pred: torch.Tensor, real: bool, for_d: bool) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(pred, torch.full_like(pred, 1.0 if real else 0.0), reduction="none")


def _hinge(pred: torch.Tensor, real: bool, for_d: bool) -> torch.Tensor:
    if not for_d:
        return -pred  # generator side of the hinge loss
    return F.relu(1.0 - pred) if real else F.relu(1.0 + pred)


GAN_MODES: dict[str, Callable[[torch.Tensor, bool, bool], torch.Tensor]] = {
    "lsgan": _lsgan,
    "vanilla": _vanilla,
    "hinge": _hinge,
}


class GANLoss(nn.Module):
    """Per-patch adversarial loss for ``lsgan``, ``hinge`` or ``vanilla``; optional patch weights."""

    def __init__(self, mode: str = "lsgan") -> None:
        super().__init__()
        if mode not in GAN_MODES:
            raise ValueError(f"unknown gan_mode {mode!r}; known: {sorted(GAN_MODES)}")
        self.mode = mode
        self._fn = GAN_MODES[mode]

    def forward(self, pred: torch.Tensor, real: bool, *, for_d: bool = True,
                weight: torch.Tensor | None = None) -> torch.Tensor:
        loss = self._fn(pred.float(), real, for_d)
        if weight is None:
            return loss.mean()
        return (loss * weight).sum() / weight.sum().clamp_min(_EPS)


def pool_mask(mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Foreground fraction of each score-map patch (area pooling of a N1HW {0,1} mask)."""
    return F.adaptive_avg_pool2d(mask.float(), size)


def region_adv_loss(gan: GANLoss, pred: torch.Tensor, fg_mask: torch.Tensor, *, real: bool, for_d: bool,
                    w_fg: float, w_bg: float) -> torch.Tensor:
    """``w_fg`` * mean over foreground patches + ``w_bg`` * mean over background patches."""
    m = pool_mask(fg_mask, pred.shape[-2:])
    total = pred.new_zeros(())
    if w_fg:
        total = total + w_fg * gan(pred, real, for_d=for_d, weight=m)
    if w_bg:
        total = total + w_bg * gan(pred, real, for_d=for_d, weight=1.0 - m)
    return total


def region_l1(a: torch.Tensor, b: torch.Tensor, fg_mask: torch.Tensor, *, w_fg: float, w_bg: float) -> torch.Tensor:
    """Self-regularisation: ``w_fg`` * mean L1 on foreground pixels + ``w_bg`` * on background."""
    diff = (a.float() - b.float()).abs().mean(1, keepdim=True)
    m = fg_mask.float()
    total = diff.new_zeros(())
    if w_fg:
        total = total + w_fg * (diff * m).sum() / m.sum().clamp_min(_EPS)
    if w_bg:
        total = total + w_bg * (diff * (1 - m)).sum() / (1 - m).sum().clamp_min(_EPS)
    return total


def r1_penalty(d_real: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): squared gradient norm of D's score at real images."""
    (grad,) = torch.autograd.grad(d_real.sum(), real, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()


class PatchNCELoss(nn.Module):
    """InfoNCE between a patch of the output and the same-location patch of the input (CUT)."""

    def __init__(self, temperature: float = 0.07) -> None:
        super().__init__()
        self.t = temperature

    def forward(self, q: torch.Tensor, k: torch.Tensor, batch: int) -> torch.Tensor:
        k = k.detach()
        n = q.shape[0] // batch
        qb, kb = q.view(batch, n, -1), k.view(batch, n, -1)
        logits = torch.bmm(qb, kb.transpose(1, 2)) / self.t  # B, n, n: diagonal are positives
        target = torch.arange(n, device=q.device).expand(batch, n)
        return F.cross_entropy(logits.flatten(0, 1), target.flatten())
