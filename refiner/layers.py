"""Shared network pieces for every refiner (the one place for them, timm style).

Images are NCHW float in [-1, 1]. Generators are fully convolutional: they train on random
crops and apply at any size (``pad_to_multiple`` makes strided ones accept odd sizes).
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

NORMS: dict[str, Callable[[int], nn.Module]] = {
    "instance": lambda c: nn.InstanceNorm2d(c, affine=False, track_running_stats=False),
    "batch": lambda c: nn.BatchNorm2d(c),
    "none": lambda c: nn.Identity(),
}


def norm_layer(kind: str, channels: int) -> nn.Module:
    if kind not in NORMS:
        raise ValueError(f"unknown norm {kind!r}; known: {sorted(NORMS)}")
    return NORMS[kind](channels)


def maybe_sn(module: nn.Module, enabled: bool) -> nn.Module:
    return _spectral_norm(module) if enabled else module


class ResnetBlock(nn.Module):
    """Two reflection-padded 3x3 convolutions with a skip connection (Johnson et al. 2016)."""

    def __init__(self, dim: int, norm: str = "instance") -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), norm_layer(norm, dim), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), norm_layer(norm, dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """ResNet generator: stem, ``n_down`` stride-2 stages, ``n_blocks`` blocks, mirrored decoder.

    ``n_down=0`` is SimGAN's refiner (no striding, full resolution throughout). With
    ``residual=True`` the head predicts a change added to the input and starts at zero, so
    training begins from the identity: labels hold from step 0 and few CPU steps suffice.
    The encoder is a list of stages so CUT can tap features (``encode``).
    """

    def __init__(self, *, in_ch: int = 3, out_ch: int = 3, ngf: int = 64, n_blocks: int = 9,
                 n_down: int = 2, norm: str = "instance", residual: bool = True) -> None:
        super().__init__()
        self.n_down = n_down
        self.residual = residual
        stages: list[nn.Module] = [nn.Sequential(
            nn.ReflectionPad2d(3), nn.Conv2d(in_ch, ngf, 7), norm_layer(norm, ngf), nn.ReLU(True))]
        ch = ngf
        for _ in range(n_down):
            stages.append(nn.Sequential(nn.Conv2d(ch, ch * 2, 3, 2, 1), norm_layer(norm, ch * 2), nn.ReLU(True)))
            ch *= 2
        stages += [ResnetBlock(ch, norm) for _ in range(n_blocks)]
        self.encoder = nn.ModuleList(stages)
        self.stage_channels = [in_ch] + [ngf * 2 ** min(i, n_down) for i in range(len(stages))]
        up: list[nn.Module] = []
        for _ in range(n_down):
            up += [nn.ConvTranspose2d(ch, ch // 2, 3, 2, 1, output_padding=1), norm_layer(norm, ch // 2), nn.ReLU(True)]
            ch //= 2
        head = nn.Conv2d(ch, out_ch, 7)
        if residual:
            nn.init.zeros_(head.weight)
            nn.init.zeros_(head.bias)
        self.decoder = nn.Sequential(*up, nn.ReflectionPad2d(3), head)

    def encode(self, x: torch.Tensor, taps: list[int]) -> list[torch.Tensor]:
        """Features after the given stages (0 = the input itself), for PatchNCE."""
        feats = [x] if 0 in taps else []
        last = max(taps)
        for i, stage in enumerate(self.encoder, start=1):
            if i > last:
                break
            x = stage(x)
            if i in taps:
                feats.append(x)
        return feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for stage in self.encoder:
            h = stage(h)
        out = self.decoder(h)
        return x + out if self.residual else torch.tanh(out)


class PatchDiscriminator(nn.Module):
    """PatchGAN (Isola et al. 2017): a map of real/fake scores, one per receptive field patch.

    ``n_layers`` 1/2/3 gives 16/34/70 pixel patches. No sigmoid: ``GANLoss`` works on logits.
    """

    def __init__(self, *, in_ch: int = 3, ndf: int = 64, n_layers: int = 3, norm: str = "instance",
                 spectral_norm: bool = False) -> None:
        super().__init__()
        sn = spectral_norm
        # spectral norm replaces feature normalisation in the discriminator (Miyato et al. 2018)
        norm = "none" if sn else norm
        layers: list[nn.Module] = [maybe_sn(nn.Conv2d(in_ch, ndf, 4, 2, 1), sn), nn.LeakyReLU(0.2, True)]
        ch = ndf
        for i in range(1, n_layers + 1):
            nxt = ndf * min(2 ** i, 8)
            stride = 2 if i < n_layers else 1
            layers += [maybe_sn(nn.Conv2d(ch, nxt, 4, stride, 1), sn), norm_layer(norm, nxt), nn.LeakyReLU(0.2, True)]
            ch = nxt
        layers.append(maybe_sn(nn.Conv2d(ch, 1, 4, 1, 1), sn))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class PatchSampleMLP(nn.Module):
    """CUT's projection heads: one two-layer MLP per tapped layer, applied to sampled patches."""

    def __init__(self, channels: list[int], out_dim: int = 256) -> None:
        super().__init__()
        self.heads = nn.ModuleList(
            nn.Sequential(nn.Linear(c, out_dim), nn.ReLU(True), nn.Linear(out_dim, out_dim)) for c in channels)

    def forward(self, feats: list[torch.Tensor], num_patches: int,
                patch_ids: list[torch.Tensor] | None = None) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        out, ids = [], []
        for k, (feat, head) in enumerate(zip(feats, self.heads)):
            flat = feat.flatten(2).permute(0, 2, 1)  # B, HW, C
            if patch_ids is not None:
                idx = patch_ids[k]
            else:
                idx = torch.randperm(flat.shape[1], device=feat.device)[: min(num_patches, flat.shape[1])]
            sample = head(flat[:, idx, :].flatten(0, 1))
            out.append(F.normalize(sample, dim=1))
            ids.append(idx)
        return out, ids


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad H and W up to a multiple (strided generators need it); returns original size."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        mode = "reflect" if ph < h and pw < w else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    return x, (h, w)


def init_weights(net: nn.Module, gain: float = 0.02) -> nn.Module:
    """Normal(0, 0.02) init as in pix2pix/CycleGAN; zero-initialised residual heads are kept."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            w = getattr(m, "parametrizations", None)
            weight = m.parametrizations.weight.original if w is not None and hasattr(w, "weight") else m.weight
            if weight.abs().sum() == 0:
                continue  # a deliberately zeroed head
            nn.init.normal_(weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)
    return net
