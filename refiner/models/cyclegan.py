"""CycleGAN (Zhu et al. 2017): sim->real and real->sim generators, a PatchGAN per domain,
cycle and identity losses, image pools of 50. Only the sim->real side sees the masks."""
from __future__ import annotations

import itertools
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from refiner.models.base import STRIDED_PRESETS, ImagePool, Phase, Refiner
from refiner.config import CycleGANConfig
from refiner.registry import register


@register("cyclegan", schema=CycleGANConfig, presets=STRIDED_PRESETS)
class CycleGAN(Refiner):
    loss_names = ("G_adv", "G_r2s_adv", "cycle_sim", "cycle_real", "idt", "reg", "label", "D_real", "D_sim", "r1")
    visual_names = ("sim", "refined", "real", "rec_sim", "fake_sim")

    def __init__(self, cfg) -> None:
        super().__init__(cfg)
        self.net_g_s2r = self.make_generator()
        self.net_g_r2s = self.make_generator()
        self.net_d_real = self.make_discriminator()  # judges the real domain (refined images)
        self.net_d_sim = self.make_discriminator()  # judges the sim domain (real -> sim images)
        self.pool_refined = ImagePool(cfg.pool_size)
        self.pool_fake_sim = ImagePool(cfg.pool_size)

    @property
    def generator(self) -> nn.Module:
        return self.net_g_s2r

    def generator_parameters(self) -> Iterator[nn.Parameter]:
        return itertools.chain(self.net_g_s2r.parameters(), self.net_g_r2s.parameters())

    def discriminator_parameters(self) -> Iterator[nn.Parameter]:
        return itertools.chain(self.net_d_real.parameters(), self.net_d_sim.parameters())

    def forward(self) -> None:
        self.refined = self.net_g_s2r(self.sim)
        self.rec_sim = self.net_g_r2s(self.refined)
        self.fake_sim = self.net_g_r2s(self.real)
        self.rec_real = self.net_g_s2r(self.fake_sim)

    def loss_g(self, phase: Phase) -> torch.Tensor:
        L, w = self.losses, self.cfg.loss
        L["G_adv"] = self.adv_refined(self.net_d_real, self.refined, self.mask)
        L["G_r2s_adv"] = self.gan(self.net_d_sim(self.augment(self.fake_sim)), True, for_d=False)
        L["cycle_sim"] = w.cycle * F.l1_loss(self.rec_sim, self.sim)
        L["cycle_real"] = w.cycle * F.l1_loss(self.rec_real, self.real)
        if w.identity > 0:
            L["idt"] = w.cycle * w.identity * (F.l1_loss(self.net_g_s2r(self.real), self.real)
                                               + F.l1_loss(self.net_g_r2s(self.sim), self.sim))
        else:
            L["idt"] = self.refined.new_zeros(())
        L["reg"] = self.reg(self.refined, self.sim, self.mask)
        L["label"] = self.label(self.refined, self.sim)
        return sum(L[k] for k in ("G_adv", "G_r2s_adv", "cycle_sim", "cycle_real", "idt", "reg", "label"))

    def loss_d(self) -> torch.Tensor:
        L = self.losses
        fake = self.pool_refined.query(torch.cat([self.refined.detach(), self.mask], 1))
        d_real, d_fake = self.d_real_vs_refined(self.net_d_real, self.real, fake[:, :3], fake[:, 3:])
        L["D_real"] = 0.5 * (d_real + d_fake)
        fake_sim = self.pool_fake_sim.query(self.fake_sim.detach())
        L["D_sim"] = 0.5 * (self.gan(self.net_d_sim(self.augment(self.sim)), True)
                            + self.gan(self.net_d_sim(self.augment(fake_sim)), False))
        L["r1"] = self.r1(self.net_d_real, self.real)
        return L["D_real"] + L["D_sim"] + L["r1"]
