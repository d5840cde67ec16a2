"""CUT and FastCUT (Park et al. 2020): one generator, PatchNCE between input and output patches
at several encoder depths, one PatchGAN. FastCUT drops the identity NCE and uses flip
equivariance; both cost about half of CycleGAN."""
from __future__ import annotations

import itertools
import random
from typing import Iterator

import torch
from torch import nn

from refiner.layers import PatchSampleMLP
from refiner.losses import PatchNCELoss
from refiner.models.base import STRIDED_PRESETS, Phase, Refiner
from refiner.config import CUTConfig, FastCUTConfig
from refiner.registry import register


@register("cut", schema=CUTConfig, presets=STRIDED_PRESETS)
class CUT(Refiner):
    loss_names = ("G_adv", "nce", "nce_idt", "reg", "label", "D_real", "D_fake", "r1")

    def __init__(self, cfg) -> None:
        super().__init__(cfg)
        self.net_g = self.make_generator()
        self.net_d = self.make_discriminator()
        n_stages = len(self.net_g.encoder)
        self.taps = sorted({min(int(t), n_stages) for t in cfg.nce_layers})
        self.net_f = PatchSampleMLP([self.net_g.stage_channels[t] for t in self.taps])
        self.nce_loss = PatchNCELoss(cfg.nce_t)

    @property
    def generator(self) -> nn.Module:
        return self.net_g

    def generator_parameters(self) -> Iterator[nn.Parameter]:
        return itertools.chain(self.net_g.parameters(), self.net_f.parameters())

    def discriminator_parameters(self) -> Iterator[nn.Parameter]:
        return self.net_d.parameters()

    def forward(self) -> None:
        use_idt = self.cfg.loss.nce_idt and self.cfg.loss.nce > 0
        x = torch.cat([self.sim, self.real]) if use_idt else self.sim
        flip = self.cfg.flip_equivariance and self.training and random.random() < 0.5
        if flip:
            x = torch.flip(x, [3])
        out = self.net_g(x)
        if flip:
            out = torch.flip(out, [3])
        b = self.sim.shape[0]
        self.refined = out[:b]
        self.idt_real = out[b:] if use_idt else None

    def _nce(self, src: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        feat_k = self.net_g.encode(src, self.taps)
        feat_q = self.net_g.encode(out, self.taps)
        k, ids = self.net_f(feat_k, self.cfg.num_patches)
        q, _ = self.net_f(feat_q, self.cfg.num_patches, ids)
        b = src.shape[0]
        return torch.stack([self.nce_loss(qi, ki, b) for qi, ki in zip(q, k)]).mean()

    def loss_g(self, phase: Phase) -> torch.Tensor:
        L, w = self.losses, self.cfg.loss
        zero = self.refined.new_zeros(())
        L["G_adv"] = self.adv_refined(self.net_d, self.refined, self.mask)
        L["nce"] = w.nce * self._nce(self.sim, self.refined) if w.nce > 0 else zero
        L["nce_idt"] = w.nce * self._nce(self.real, self.idt_real) if self.idt_real is not None else zero
        nce_total = 0.5 * (L["nce"] + L["nce_idt"]) if self.idt_real is not None else L["nce"]
        L["reg"] = self.reg(self.refined, self.sim, self.mask)
        L["label"] = self.label(self.refined, self.sim)
        return L["G_adv"] + nce_total + L["reg"] + L["label"]

    def loss_d(self) -> torch.Tensor:
        L = self.losses
        L["D_real"], L["D_fake"] = self.d_real_vs_refined(self.net_d, self.real, self.refined, self.mask)
        L["r1"] = self.r1(self.net_d, self.real)
        return 0.5 * (L["D_real"] + L["D_fake"]) + L["r1"]


@register("fastcut", schema=FastCUTConfig, presets=STRIDED_PRESETS)
class FastCUT(CUT):
    """Same networks; the config differs (nce 10, nce_idt false, flip equivariance)."""
