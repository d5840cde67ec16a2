"""Refiner models: registry, shared losses, every model trains real steps, and the FG/BG property."""
from __future__ import annotations

import pytest
import torch

from refiner.augment import DiffAugment
from refiner.layers import PatchDiscriminator, ResnetGenerator
from refiner.losses import GANLoss, region_l1
from refiner.models import create as create_refiner, names as list_refiners
from sim2real.errors import ConfigError

TINY = {"net": {"ngf": 8, "n_blocks": 1, "ndf": 8, "n_layers_d": 1}, "task_net": {"enabled": False},
        "loss": {"label": 0.0}, "pool_size": 4}


def _batch(size: int = 32, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    mask = torch.zeros(2, 1, size, size)
    mask[:, :, 8:20, 10:24] = 1.0
    sim = torch.full((2, 3, size, size), -0.2) + 0.6 * mask
    real = torch.rand(2, 3, size, size, generator=g) * 0.4 + 0.1
    return {"sim": sim, "mask": mask, "real": real}


def _train(model, steps: int, batch: dict[str, torch.Tensor]) -> list[dict[str, float]]:
    """A plain loop over the model's own step interface (the engine's loop without Lightning)."""
    opt_g = torch.optim.Adam(model.generator_parameters(), lr=2e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(model.discriminator_parameters(), lr=2e-3, betas=(0.5, 0.999))
    history = []
    for step in range(steps):
        phase = model.schedule(step)
        model.set_input(batch)
        model.forward()
        if phase.train_g:
            opt_g.zero_grad()
            model.loss_g(phase).backward()
            opt_g.step()
        if phase.train_d:
            opt_d.zero_grad()
            model.loss_d().backward()
            opt_d.step()
        history.append(model.current_losses())
    return history


def test_registry_lists_every_model_and_rejects_unknown():
    assert list_refiners() == ["camera", "cut", "cyclegan", "fastcut", "simgan"]
    with pytest.raises(ConfigError, match="unknown refiner 'pix2pix'"):
        create_refiner("pix2pix")
    with pytest.raises(ConfigError, match="bogus"):
        create_refiner("cut", bogus=1)


def test_paper_preset_has_paper_sizes():
    model = create_refiner("cyclegan", preset="paper")
    g = model.generator
    assert len(g.encoder) == 1 + 2 + 9 and g.encoder[0][1].out_channels == 64
    assert model.sizes["n_layers_d"] == 3
    fast = create_refiner("fastcut")
    assert fast.cfg.loss.nce == 10.0 and not fast.cfg.loss.nce_idt and fast.cfg.flip_equivariance


@pytest.mark.parametrize("mode", ["lsgan", "hinge", "vanilla"])
def test_gan_loss_prefers_correct_scores(mode):
    gan = GANLoss(mode)
    good, bad = torch.full((1, 1, 4, 4), 0.9), torch.full((1, 1, 4, 4), 0.1)
    assert gan(good, True) < gan(bad, True)
    assert gan(bad, False) < gan(good, False)
    assert gan(good, True, for_d=False) < gan(bad, True, for_d=False)


def test_generator_is_fully_convolutional_and_starts_as_identity():
    g = ResnetGenerator(ngf=8, n_blocks=1, n_down=2)
    model = create_refiner("cut", **TINY)
    x = torch.rand(1, 3, 45, 71) * 2 - 1
    out = model.refine(x)
    assert out.shape == x.shape
    assert torch.allclose(out, x)  # zero-initialised residual head
    assert PatchDiscriminator(ndf=8, n_layers=2, spectral_norm=True)(x).shape[1] == 1
    assert g(torch.zeros(1, 3, 32, 32)).shape == (1, 3, 32, 32)


def test_diffaugment_is_differentiable():
    x = (torch.rand(2, 3, 32, 32) * 2 - 1).requires_grad_(True)
    DiffAugment()(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.parametrize("name", ["simgan", "cyclegan", "cut", "fastcut"])
def test_each_model_trains_and_its_losses_move(name):
    torch.manual_seed(0)
    extra = {"pretrain_g_steps": 2, "pretrain_d_steps": 1} if name == "simgan" else {}
    model = create_refiner(name, **TINY, r1_gamma=1.0, r1_every=2, **extra)
    before = {k: v.clone() for k, v in model.generator.state_dict().items()}
    history = _train(model, 6, _batch())
    assert set(history[-1]) == set(model.loss_names)
    adv_first = [h["G_adv"] for h in history if h.get("G_adv")]
    assert len(set(round(v, 6) for v in adv_first)) > 1, "generator adversarial loss never moved"
    d_key = "D_real"
    assert len({round(h[d_key], 6) for h in history if d_key in h}) > 1
    changed = any(not torch.equal(before[k], v) for k, v in model.generator.state_dict().items())
    assert changed
    assert all(torch.isfinite(torch.tensor(list(h.values()))).all() for h in history)


def test_region_l1_weights_regions_separately():
    a, b = torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4)
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., :2, :] = 1
    b[..., :2, :] = 1.0  # differs only on the foreground
    assert region_l1(a, b, mask, w_fg=0.0, w_bg=5.0) == 0
    assert region_l1(a, b, mask, w_fg=2.0, w_bg=0.0) == pytest.approx(2.0)


@pytest.mark.parametrize("name", ["simgan", "fastcut"])
def test_high_bg_reg_zero_bg_adv_changes_background_less(name):
    """With bg.reg high and bg.adv 0, refinement changes background pixels measurably less."""
    torch.manual_seed(1)
    extra = {"pretrain_g_steps": 0, "pretrain_d_steps": 0} if name == "simgan" else {}
    model = create_refiner(name, **{**TINY, "loss": {"label": 0.0, "fg": {"adv": 1.0, "reg": 0.0},
                                                  "bg": {"adv": 0.0, "reg": 10.0}}}, **extra)
    batch = _batch()
    batch["real"] = batch["real"] * 0 + 0.8  # a bright real domain: far from both sim regions
    _train(model, 25, batch)
    change = (model.refine(batch["sim"]) - batch["sim"]).abs().mean(1, keepdim=True)
    m = batch["mask"]
    fg = (change * m).sum() / m.sum()
    bg = (change * (1 - m)).sum() / (1 - m).sum()
    assert fg > 0.02, f"foreground barely changed ({fg:.4f})"
    assert bg < 0.5 * fg, f"background changed {bg:.4f} vs foreground {fg:.4f}"
