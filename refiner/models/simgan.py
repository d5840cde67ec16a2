"""SimGAN (Shrivastava et al. 2017): refiner without striding, local patch discriminator,
self-regularisation to the input, a history buffer, and refiner/discriminator pre-training."""
from __future__ import annotations

from typing import Iterator

import torch
from torch import nn

from refiner.models.base import ImagePool, Phase, Refiner
from refiner.config import SimGANConfig
from refiner.registry import register


# without striding (SimGAN style); paper: a 64-filter refiner of 4 blocks and a small local discriminator
SIMGAN_PRESETS = {
    "small": dict(ngf=24, n_blocks=3, n_down=0, ndf=32, n_layers_d=2, norm="instance"),
    "paper": dict(ngf=64, n_blocks=4, n_down=0, ndf=64, n_layers_d=2, norm="instance"),
}


@register("simgan", schema=SimGANConfig, presets=SIMGAN_PRESETS)
class SimGAN(Refiner):
    loss_names = ("G_adv", "reg", "label", "D_real", "D_fake", "r1")

    def __init__(self, cfg) -> None:
        super().__init__(cfg)
        self.net_g = self.make_generator()
        self.net_d = self.make_discriminator()
        self.history = ImagePool(cfg.pool_size)

    @property
    def generator(self) -> nn.Module:
        return self.net_g

    def generator_parameters(self) -> Iterator[nn.Parameter]:
        return self.net_g.parameters()

    def discriminator_parameters(self) -> Iterator[nn.Parameter]:
        return self.net_d.parameters()

    def schedule(self, step: int) -> Phase:
        g, d = self.cfg.pretrain_g_steps, self.cfg.pretrain_d_steps
        if step < g:
            return Phase(train_g=True, train_d=False, adversarial=False)
        if step < g + d:
            return Phase(train_g=False, train_d=True)
        return Phase()

    def forward(self) -> None:
        self.refined = self.net_g(self.sim)

    def loss_g(self, phase: Phase) -> torch.Tensor:
        L = self.losses
        L["G_adv"] = self.adv_refined(self.net_d, self.refined, self.mask) if phase.adversarial else self.refined.new_zeros(())
        L["reg"] = self.reg(self.refined, self.sim, self.mask, feature=self.cfg.reg_space == "feature")
        L["label"] = self.label(self.refined, self.sim)
        return L["G_adv"] + L["reg"] + L["label"]

    def loss_d(self) -> torch.Tensor:
        current = torch.cat([self.refined.detach(), self.mask], 1)
        k = max(1, round(current.shape[0] * self.cfg.history_fraction))
        old = self.history.add_and_sample(current, k) if self.cfg.history_fraction > 0 else None
        fake = current if old is None else torch.cat([current, old])
        L = self.losses
        L["D_real"], L["D_fake"] = self.d_real_vs_refined(self.net_d, self.real, fake[:, :3], fake[:, 3:])
        L["r1"] = self.r1(self.net_d, self.real)
        return 0.5 * (L["D_real"] + L["D_fake"]) + L["r1"]
