"""A differentiable camera: optics blur, white balance and exposure, sensor noise, tone curve
and saturation, each with a learned distribution over images.

The ``camera`` refiner (refiner/models/camera.py) learns it from unlabelled real photos, with
a discriminator and by matching image statistics (``statistics_loss``), as Carlson et al.
(2019, "Sensor transfer") learn sensor effects for sim-to-real. It has 20 numbers, not a
network: it cannot paint artefacts or move an edge (blur is the one spatial operation), it
trains in about a minute on a CPU, and what it learned can be read off (``describe``). Effects
that depend on the position in the image (vignetting) are left out: the refiner trains on crops.

Every effect starts at the identity except two: a noise of std 0.007 (a noise the
discriminator can see gives the generator a gradient; none gives none) and a 0.3-pixel blur
(a sigma near 0 has no gradient either). Per image, each parameter is ``mean + spread * N(0, 1)``
(reparameterised, so both are learned); ``refine_seeded`` draws an image's numbers and noise
from a seed made of its own bytes, so a refined set is the same whatever the batching or a resume.
"""
from __future__ import annotations

import zlib

import torch
import torch.nn.functional as F
from torch import nn

# name -> initial mean (in the parameter's own unconstrained space); see ``_effects``
PARAMS: dict[str, float] = {
    "blur": -1.05,      # Gaussian sigma in pixels = softplus(.)  (0.3 px: 1.5 % to the neighbours)
    "gain_r": 0.0,      # per-channel gain = exp(.)  (white balance)
    "gain_g": 0.0,
    "gain_b": 0.0,
    "exposure": 0.0,    # overall gain = exp(.)
    "read_noise": -5.0,  # sensor noise std = sqrt(exp(read)^2 + exp(shot)^2 * signal): 0.007
    "shot_noise": -7.0,
    "gamma": 0.0,       # tone curve y ** exp(.)
    "contrast": 0.0,    # (y - 0.5) * exp(.) + 0.5
    "saturation": 0.0,  # grey + (y - grey) * exp(.)
}
_GREY = (0.299, 0.587, 0.114)


class CameraModel(nn.Module):
    """Images in [-1, 1] to images in [-1, 1]; ``n_down = 0`` (any size, no padding needed)."""

    n_down = 0

    def __init__(self, init_spread: float = 0.05, blur_radius: int = 3) -> None:
        super().__init__()
        self.names = list(PARAMS)
        self.mean = nn.Parameter(torch.tensor([PARAMS[n] for n in self.names]))
        self.log_spread = nn.Parameter(torch.full((len(PARAMS),), float(torch.tensor(init_spread).log())))
        self.blur_radius = blur_radius

    def sample(self, batch: int, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        device = self.mean.device if generator is None else "cpu"  # a seeded generator lives on the CPU
        eps = torch.randn(batch, len(self.names), generator=generator, device=device)
        values = self.mean + self.log_spread.exp() * eps.to(self.mean.device)
        return {n: values[:, i] for i, n in enumerate(self.names)}

    def forward(self, x: torch.Tensor, params: dict[str, torch.Tensor] | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        p = params if params is not None else self.sample(x.shape[0], generator)
        noise = torch.randn(x.shape, generator=generator, device="cpu" if generator is not None else x.device)
        y = self._effects((x.float() + 1.0) * 0.5, p, noise.to(x.device))
        return (y * 2.0 - 1.0).to(x.dtype)

    def _effects(self, y: torch.Tensor, p: dict[str, torch.Tensor], noise: torch.Tensor) -> torch.Tensor:
        b, c, h, w = y.shape
        col = lambda t: t.view(b, 1, 1, 1)  # noqa: E731
        y = self._blur(y, F.softplus(p["blur"]))  # optics
        log_gains = torch.stack([p["gain_r"], p["gain_g"], p["gain_b"]], 1) + p["exposure"][:, None]
        y = y * log_gains.exp().view(b, 3, 1, 1)
        var = col(p["read_noise"].exp()) ** 2 + col(p["shot_noise"].exp()) ** 2 * y.clamp_min(0.0)  # sensor
        y = y + var.clamp_min(1e-12).sqrt() * noise
        y = y.clamp(1e-4, 1.0) ** col(p["gamma"].exp())  # tone curve
        y = (y - 0.5) * col(p["contrast"].exp()) + 0.5
        grey = (y * y.new_tensor(_GREY).view(1, 3, 1, 1)).sum(1, keepdim=True)
        y = grey + (y - grey) * col(p["saturation"].exp())
        return y.clamp(0.0, 1.0)

    def _blur(self, y: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """Per-image Gaussian blur, differentiable in sigma (a grouped convolution)."""
        b, c, h, w = y.shape
        r = self.blur_radius
        t = torch.arange(-r, r + 1, device=y.device, dtype=y.dtype)
        k1 = torch.exp(-0.5 * (t[None] / sigma.clamp_min(1e-3)[:, None]) ** 2)
        k1 = k1 / k1.sum(1, keepdim=True)  # b, 2r+1
        k2 = (k1[:, :, None] * k1[:, None, :]).repeat_interleave(c, 0)[:, None]  # b*c, 1, k, k
        out = F.conv2d(F.pad(y.reshape(1, b * c, h, w), (r, r, r, r), mode="reflect"), k2, groups=b * c)
        return out.view(b, c, h, w)

    @torch.no_grad()
    def refine_seeded(self, x: torch.Tensor) -> torch.Tensor:
        """Each image drawn with a seed from its own bytes: independent of batching and order."""
        outs = []
        for img in x:
            seed = zlib.crc32(img.detach().float().cpu().numpy().tobytes())
            outs.append(self(img[None], generator=torch.Generator().manual_seed(seed))[0])
        return torch.stack(outs)

    def describe(self) -> dict[str, dict[str, float]]:
        """Learned effects in readable units: each parameter's mean and spread over images."""
        out = {}
        for i, n in enumerate(self.names):
            m, s = float(self.mean[i].detach()), float(self.log_spread[i].detach().exp())
            out[n] = {"mean": round(_readable(n, m), 5), "spread": round(s, 4)}
        return out


def image_statistics(x: torch.Tensor) -> torch.Tensor:
    """Per image (N x 7), differentiable: channel means, grey contrast, saturation, noise
    (mean |Laplacian| of grey), and the grey level's spread between dark and bright halves."""
    y = (x.float() + 1.0) * 0.5
    grey = (y * y.new_tensor(_GREY).view(1, 3, 1, 1)).sum(1, keepdim=True)
    lap = y.new_tensor([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]).view(1, 1, 3, 3)
    noise = F.conv2d(grey, lap).abs().mean((1, 2, 3))
    low = F.avg_pool2d(y, 4)  # colour of 4x4 blocks: saturation without the chroma of noise
    saturation = (low.amax(1) - low.amin(1)).mean((1, 2))
    g = grey.flatten(1)
    dark = (g * (g < g.mean(1, keepdim=True))).sum(1) / (g < g.mean(1, keepdim=True)).sum(1).clamp_min(1)
    return torch.stack([*y.mean((2, 3)).unbind(1), g.std(1), saturation, noise, g.mean(1) - dark], 1)


def statistics_loss(refined: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """How far the refined batch's image statistics are from the real batch's: the difference
    of their means and of their spreads, each in units of the real spread (means only, in units
    of 0.05, for a batch of one image)."""
    a, b = image_statistics(refined), image_statistics(real).detach()
    if a.shape[0] < 2 or b.shape[0] < 2:
        return ((a.mean(0) - b.mean(0)).abs() / 0.05).mean()
    scale = b.std(0).clamp_min(1e-3)
    return ((a.mean(0) - b.mean(0)).abs() / scale).mean() + ((a.std(0) - b.std(0)).abs() / scale).mean()


def _readable(name: str, value: float) -> float:
    if name == "blur":
        return float(F.softplus(torch.tensor(value)))
    return float(torch.tensor(value).exp())
