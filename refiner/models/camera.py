"""Camera refiner: a learned differentiable camera (sim2real/learned_camera.py) against a PatchGAN.

Where the GAN refiners learn a network that may repaint anything, this one can only change
what a camera changes (blur, colour, noise, tone), so labels hold by construction. Its
generator loss is the discriminator's (a preset without feature normalisation, so colour
statistics reach it) plus ``refiner.stats`` times the distance between refined and real batch
statistics: the discriminator alone pulled saturation and contrast past real and never raised
the noise (docs/benchmarks.md, "A camera refiner").
"""
from __future__ import annotations

from typing import Iterator

import torch
from torch import nn

from sim2real.learned_camera import CameraModel, statistics_loss
from refiner.models.base import Phase, Refiner
from refiner.config import CameraConfig
from refiner.registry import register


# the camera model has no network sizes; its discriminator keeps global colour (no normalisation)
CAMERA_PRESETS = {
    "small": dict(ndf=32, n_layers_d=2, norm="none"),
    "paper": dict(ndf=64, n_layers_d=3, norm="none"),
}


@register("camera", schema=CameraConfig, presets=CAMERA_PRESETS)
class CameraRefiner(Refiner):
    loss_names = ("G_adv", "stats", "reg", "label", "D_real", "D_fake", "r1")
    min_batch_size = 4

    def __init__(self, cfg) -> None:
        super().__init__(cfg)
        self.net_g = CameraModel(init_spread=cfg.init_spread, blur_radius=cfg.blur_radius)
        self.net_d = self.make_discriminator()

    @property
    def generator(self) -> CameraModel:
        return self.net_g

    def generator_parameters(self) -> Iterator[nn.Parameter]:
        return self.net_g.parameters()

    def discriminator_parameters(self) -> Iterator[nn.Parameter]:
        return self.net_d.parameters()

    def forward(self) -> None:
        self.refined = self.net_g(self.sim)

    def loss_g(self, phase: Phase) -> torch.Tensor:
        L = self.losses
        L["G_adv"] = self.adv_refined(self.net_d, self.refined, self.mask)
        stats = self.cfg.stats
        L["stats"] = stats * statistics_loss(self.refined, self.real) if stats > 0 else self.refined.new_zeros(())
        L["reg"] = self.reg(self.refined, self.sim, self.mask)
        L["label"] = self.label(self.refined, self.sim)
        return L["G_adv"] + L["stats"] + L["reg"] + L["label"]

    def loss_d(self) -> torch.Tensor:
        L = self.losses
        L["D_real"], L["D_fake"] = self.d_real_vs_refined(self.net_d, self.real, self.refined, self.mask)
        L["r1"] = self.r1(self.net_d, self.real)
        return 0.5 * (L["D_real"] + L["D_fake"]) + L["r1"]

    def learned_metrics(self) -> dict[str, float]:
        """``camera.<effect>`` (mean, in plain units) and ``camera.<effect>.spread``."""
        out = {}
        for name, v in self.net_g.describe().items():
            out[f"camera.{name}"], out[f"camera.{name}.spread"] = v["mean"], v["spread"]
        return out

    @torch.no_grad()
    def refine(self, x: torch.Tensor) -> torch.Tensor:
        """Each image with its own draw of the camera, seeded by its bytes (see CameraModel)."""
        return self.net_g.refine_seeded(x)
