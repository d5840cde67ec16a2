"""What every refiner shares (junyanz style): declared ``loss_names`` and ``visual_names``, the
foreground/background-weighted adversarial and regularisation terms, label consistency, R1.

A model computes; the engine (refiner/engine.py) owns optimisers and the step loop:
``set_input`` -> ``forward`` -> ``loss_g`` (generator step) -> ``loss_d`` (discriminator step).
``schedule(step)`` lets a model skip either step (SimGAN's pre-training phases).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from refiner.augment import DiffAugment
from refiner.layers import PatchDiscriminator, ResnetGenerator, init_weights, pad_to_multiple
from refiner.losses import GANLoss, r1_penalty, region_adv_loss, region_l1
from refiner.registry import REFINERS
from sim2real.errors import ConfigError


# Network sizes per preset: ``small`` (CPU pipeline: minutes on 2 cores) and ``paper`` (the
# publications: CycleGAN / CUT / FastCUT use a 64-filter ResNet generator with 2 downsamplings
# and 9 blocks and a 70x70 PatchGAN). Each model registers its table with ``presets=``.
STRIDED_PRESETS = {
    "small": dict(ngf=24, n_blocks=3, n_down=2, ndf=32, n_layers_d=2, norm="instance"),
    "paper": dict(ngf=64, n_blocks=9, n_down=2, ndf=64, n_layers_d=3, norm="instance"),
}


def net_sizes(presets: dict[str, dict[str, Any]], preset: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The preset's sizes with every non-None ``refiner.net.*`` override applied."""
    if preset not in presets:
        raise ConfigError(f"refiner.preset must be one of {sorted(presets)}, got {preset!r}")
    sizes = dict(presets[preset])
    sizes.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return sizes


@dataclass(frozen=True)
class Phase:
    train_g: bool = True
    train_d: bool = True
    adversarial: bool = True  # False: the generator step uses only regularisation/label terms


class ImagePool:
    """Buffer of past refined images (Shrivastava's history, Zhu's pool of 50); CPU-resident."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: list[torch.Tensor] = []

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """Zhu et al.: each image is swapped with a stored one with probability 0.5."""
        if self.size <= 0:
            return images
        out = []
        for img in images.detach():
            if len(self.items) < self.size:
                self.items.append(img.cpu())
                out.append(img)
            elif random.random() < 0.5:
                j = random.randrange(self.size)
                out.append(self.items[j].to(img.device))
                self.items[j] = img.cpu()
            else:
                out.append(img)
        return torch.stack(out)

    def add_and_sample(self, images: torch.Tensor, k: int) -> torch.Tensor | None:
        """Shrivastava et al.: store the new images, return ``k`` random older ones (or None)."""
        old = random.sample(self.items, min(k, len(self.items))) if self.items else []
        for img in images.detach():
            if len(self.items) < self.size:
                self.items.append(img.cpu())
            else:
                self.items[random.randrange(self.size)] = img.cpu()
        return torch.stack(old).to(images.device) if old else None


class Refiner(nn.Module):
    """Base class. Subclasses build their networks and define ``forward``/``loss_g``/``loss_d``."""

    loss_names: tuple[str, ...] = ()
    visual_names: tuple[str, ...] = ("sim", "refined", "real")
    min_batch_size = 1  # below this the run warns (a model that matches batch statistics needs more)

    def __init__(self, cfg: Any) -> None:
        super().__init__()
        self.cfg = cfg
        self.model_name = cfg.name
        self.sizes = net_sizes(REFINERS.get(cfg.name).presets, cfg.preset, dict(cfg.net))
        self.gan = GANLoss(cfg.gan_mode)
        self.augment = DiffAugment(list(cfg.diffaug.policy), cfg.diffaug.enabled)
        self.task_net: nn.Module | None = None
        self.losses: dict[str, torch.Tensor] = {}
        self._d_steps = 0

    # ---- building blocks -------------------------------------------------------------------
    def make_generator(self) -> ResnetGenerator:
        s = self.sizes
        return init_weights(ResnetGenerator(ngf=s["ngf"], n_blocks=s["n_blocks"], n_down=s["n_down"],
                                            norm=s["norm"], residual=s.get("residual", True)))

    def make_discriminator(self) -> PatchDiscriminator:
        s = self.sizes
        return init_weights(PatchDiscriminator(ndf=s["ndf"], n_layers=s["n_layers_d"], norm=s["norm"],
                                               spectral_norm=self.cfg.spectral_norm))

    @property
    def generator(self) -> ResnetGenerator:
        """The sim -> real network, the only one needed to apply the refiner."""
        raise NotImplementedError

    def generator_parameters(self) -> Iterator[nn.Parameter]:
        raise NotImplementedError

    def discriminator_parameters(self) -> Iterator[nn.Parameter]:
        raise NotImplementedError

    def attach_task_net(self, net: nn.Module) -> None:
        """Attach the frozen task network (label consistency); it is saved with the model."""
        net.eval()
        for p in net.parameters():
            p.requires_grad_(False)
        self.task_net = net

    def train(self, mode: bool = True) -> "Refiner":
        super().train(mode)
        if self.task_net is not None:
            self.task_net.eval()  # frozen, always
        return self

    # ---- the step ------------------------------------------------------------------------------
    def schedule(self, step: int) -> Phase:
        return Phase()

    def set_input(self, batch: dict[str, torch.Tensor]) -> None:
        self.sim, self.mask, self.real = batch["sim"], batch["mask"], batch["real"]

    def forward(self) -> None:  # type: ignore[override]
        raise NotImplementedError

    def loss_g(self, phase: Phase) -> torch.Tensor:
        raise NotImplementedError

    def loss_d(self) -> torch.Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def refine(self, x: torch.Tensor) -> torch.Tensor:
        """Apply at any size (fully convolutional): pad to the stride multiple, crop back, clamp."""
        padded, (h, w) = pad_to_multiple(x, 2 ** self.generator.n_down)
        return self.generator(padded)[..., :h, :w].clamp(-1.0, 1.0)

    def learned_metrics(self) -> dict[str, float]:
        """Numbers worth reporting about what was learned (none for a network)."""
        return {}

    def current_losses(self) -> dict[str, float]:
        return {k: float(v.detach()) for k, v in self.losses.items() if k in self.loss_names}

    def current_visuals(self) -> dict[str, torch.Tensor]:
        return {k: getattr(self, k).detach() for k in self.visual_names if hasattr(self, k)}

    # ---- shared terms --------------------------------------------------------------------------
    def adv_refined(self, disc: nn.Module, refined: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Generator's adversarial term on refined images, split into foreground and background."""
        pred = disc(self.augment(refined))
        w = self.cfg.loss
        return region_adv_loss(self.gan, pred, mask, real=True, for_d=False, w_fg=w.fg.adv, w_bg=w.bg.adv)

    def d_real_vs_refined(self, disc: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                          fake_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Discriminator terms: every real patch is real; refined patches are fake, weighted by
        region as the generator is (a region with ``adv`` 0 is never taught as fake)."""
        w = self.cfg.loss
        total = w.fg.adv + w.bg.adv
        d_real = self.gan(disc(self.augment(real)), True, for_d=True)
        if total <= 0:
            return d_real, d_real.new_zeros(())
        pred_fake = disc(self.augment(fake.detach()))
        d_fake = region_adv_loss(self.gan, pred_fake, fake_mask, real=False, for_d=True,
                                 w_fg=w.fg.adv / total, w_bg=w.bg.adv / total)
        return d_real, d_fake

    def r1(self, disc: nn.Module, real: torch.Tensor) -> torch.Tensor:
        """Lazy R1: every ``r1_every`` discriminator steps, scaled by ``r1_every``."""
        self._d_steps += 1
        cfg = self.cfg
        if cfg.r1_gamma <= 0 or self._d_steps % max(1, cfg.r1_every):
            return real.new_zeros(())
        x = real.detach().requires_grad_(True)
        return 0.5 * cfg.r1_gamma * max(1, cfg.r1_every) * r1_penalty(disc(x), x)

    def reg(self, refined: torch.Tensor, sim: torch.Tensor, mask: torch.Tensor, *, feature: bool = False) -> torch.Tensor:
        w = self.cfg.loss
        if not (w.fg.reg or w.bg.reg):
            return refined.new_zeros(())
        if feature:  # Shrivastava's feature-space self-regularisation: local mean colour
            refined, sim = F.avg_pool2d(refined, 3, 1, 1), F.avg_pool2d(sim, 3, 1, 1)
        return region_l1(refined, sim, mask, w_fg=w.fg.reg, w_bg=w.bg.reg)

    def label(self, refined: torch.Tensor, sim: torch.Tensor) -> torch.Tensor:
        """Label consistency (CyCADA/RetinaGAN): the frozen task net must segment the refined
        image as it segments the sim image."""
        weight = self.cfg.loss.label
        if self.task_net is None or weight <= 0:
            return refined.new_zeros(())
        with torch.no_grad():
            target = self.task_net(sim).argmax(1)
        return weight * F.cross_entropy(self.task_net(refined).float(), target)
