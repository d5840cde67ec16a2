"""The camera refiner: each effect does what its name says, draws are seeded per image, and
training (discriminator + statistics) moves the camera toward a target camera it only sees
the images of."""
from __future__ import annotations

import torch

from sim2real.learned_camera import CameraModel, statistics_loss
from refiner.models import create as create_refiner


def _scene(n: int = 4, size: int = 48, seed: int = 0) -> torch.Tensor:
    """Smooth coloured images in [-1, 1]: a saturated square on a coloured, shaded background."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    imgs = []
    for _ in range(n):
        base = torch.rand(3, 1, 1, generator=g) * 0.5 + 0.2
        img = base * (0.7 + 0.3 * xx)[None]
        a, b = (torch.randint(4, size // 2, (2,), generator=g)).tolist()
        img[:, a:a + size // 3, b:b + size // 3] = torch.rand(3, 1, 1, generator=g) * 0.8 + 0.1
        imgs.append(img)
    return torch.stack(imgs) * 2 - 1


def _with(**means: float):
    """The camera with these parameter means and (nearly) no spread, applied with fixed noise."""
    cam = CameraModel(init_spread=1e-6)
    with torch.no_grad():
        for name, value in means.items():
            cam.mean[cam.names.index(name)] = value
    return lambda x: cam(x, generator=torch.Generator().manual_seed(0)).detach()


def _saturation(x: torch.Tensor) -> float:
    y = (x + 1) / 2
    return float((y.amax(1) - y.amin(1)).mean())


def _high_freq(x: torch.Tensor) -> float:
    lap = torch.tensor([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]).view(1, 1, 3, 3)
    return float(torch.nn.functional.conv2d(x.mean(1, keepdim=True), lap).abs().mean())


def test_starts_at_the_identity_and_keeps_size():
    x = _scene()
    out = _with()(x)
    assert out.shape == x.shape
    # what is there at the start: noise of std 0.007 (1.7 grey levels; a noise the
    # discriminator can see gives the generator a gradient) and a 0.3-px blur
    assert (out - x).abs().mean() < 0.015
    assert torch.nn.functional.avg_pool2d(out - x, 4).abs().max() < 0.03  # no change beyond the noise


def test_each_effect_does_what_its_name_says():
    x = _scene()
    quiet = {"read_noise": -12.0, "shot_noise": -12.0}  # no noise: the other effects alone
    plain = _with(**quiet)(x)
    assert _saturation(_with(saturation=-1.0, **quiet)(x)) < 0.6 * _saturation(plain)
    assert _high_freq(_with(blur=1.0, **quiet)(x)) < 0.7 * _high_freq(plain)
    assert _high_freq(_with(read_noise=-3.5)(x)) > 2 * _high_freq(_with()(x)) > 2 * _high_freq(plain)
    red = _with(gain_r=0.3, **quiet)(x)
    assert red[:, 0].mean() > plain[:, 0].mean() + 0.1 and torch.allclose(red[:, 1:], plain[:, 1:], atol=1e-4)
    assert (_with(contrast=-1.0, **quiet)(x)).std() < 0.6 * plain.std()
    assert (_with(gamma=0.5, **quiet)(x)).mean() < plain.mean() - 0.1  # y ** 1.65 darkens mid-tones


def test_refine_draws_per_image_whatever_the_batch():
    cam = CameraModel(init_spread=0.3)
    x = _scene(3)
    together = cam.refine_seeded(x)
    alone = torch.cat([cam.refine_seeded(x[i:i + 1]) for i in (2, 1, 0)]).flip(0)
    assert torch.equal(together, alone)
    assert not torch.allclose(together[0], cam.refine_seeded(x[1:2])[0])  # images differ in draw
    assert torch.equal(cam.refine_seeded(x), together)


def test_learns_a_target_camera_from_its_images_alone():
    """Real = other scenes through a grey, noisy camera; the learned camera moves toward it."""
    torch.manual_seed(0)
    target = _with(saturation=-0.7, read_noise=-3.5)
    real = target(_scene(64, seed=1)).detach()
    sim = _scene(64, seed=2)
    model = create_refiner("camera", net={"ndf": 16, "n_layers_d": 2}, task_net={"enabled": False})
    assert model.cfg.optim.lr_g == 1e-2 and not model.cfg.diffaug.enabled and model.cfg.loss.label == 0
    opt_g = torch.optim.Adam(model.generator_parameters(), lr=model.cfg.optim.lr_g, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(model.discriminator_parameters(), lr=2e-4, betas=(0.5, 0.999))
    g = torch.Generator().manual_seed(0)
    for _ in range(150):
        i, j = torch.randint(64, (8,), generator=g), torch.randint(64, (8,), generator=g)
        model.set_input({"sim": sim[i], "mask": torch.zeros(8, 1, 48, 48), "real": real[j]})
        model.forward()
        opt_g.zero_grad()
        model.loss_g(model.schedule(0)).backward()
        opt_g.step()
        opt_d.zero_grad()
        model.loss_d().backward()
        opt_d.step()
    learned = model.generator.describe()
    # the target camera: saturation exp(-0.7) = 0.50, read noise exp(-3.5) = 0.030; start 1.0, 0.007
    assert 0.35 < learned["saturation"]["mean"] < 0.7, learned
    assert learned["read_noise"]["mean"] > 0.018, learned
    refined = model.refine(sim)
    assert _saturation(refined) < _saturation(sim) - 0.03
    assert _high_freq(refined) > 2 * _high_freq(sim)


def test_statistics_loss_is_zero_for_the_same_images_and_finite_for_one():
    x = _scene(8)
    assert statistics_loss(x, x) == 0
    noisy = _with(read_noise=-3.5)(x)
    assert statistics_loss(noisy, x) > statistics_loss(_with()(x), x) > 0
    assert torch.isfinite(statistics_loss(x[:1], noisy[:1]))  # batch of one: means only
