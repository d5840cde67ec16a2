"""Small backbones for detectors that must learn from scratch on a CPU in minutes.

torchvision's backbones (ResNet-50, MobileNetV3) are sized for ImageNet-pretrained 800-pixel
inputs; from scratch on a few hundred 128-pixel renders they learn slowly. ``TinyResNet`` is a
four-stage residual net (strides 4..32) with BatchNorm that trains from random init, wrapped by
torchvision's own ``BackboneWithFPN`` so every torchvision detector head can sit on top.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Sequence

import torch
from torch import nn
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.ops.feature_pyramid_network import ExtraFPNBlock, LastLevelMaxPool


class BasicBlock(nn.Module):
    """conv-BN-ReLU-conv-BN with a projected shortcut (stride ``stride``)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + self.short(x))


class TinyResNet(nn.Sequential):
    """stem (stride 2) + four stages ``layer1..layer4`` at strides 4, 8, 16, 32."""

    def __init__(self, widths: Sequence[int] = (16, 32, 64, 96, 128), blocks: int = 1) -> None:
        stem = nn.Sequential(nn.Conv2d(3, widths[0], 3, 2, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        layers: list[tuple[str, nn.Module]] = [("stem", stem)]
        for i in range(4):
            stage = [BasicBlock(widths[i], widths[i + 1], 2)]
            stage += [BasicBlock(widths[i + 1], widths[i + 1], 1) for _ in range(blocks - 1)]
            layers.append((f"layer{i + 1}", nn.Sequential(*stage)))
        super().__init__(OrderedDict(layers))
        self.widths = list(widths)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


def tiny_fpn_backbone(*, levels: Sequence[int] = (1, 2, 3, 4), out_channels: int = 64,
                      widths: Sequence[int] = (16, 32, 64, 96, 128), blocks: int = 1,
                      extra_blocks: ExtraFPNBlock | None = None) -> BackboneWithFPN:
    """``TinyResNet`` + FPN over the stages in ``levels`` (1 = stride 4 ... 4 = stride 32)."""
    body = TinyResNet(widths, blocks)
    return_layers = {f"layer{k}": str(i) for i, k in enumerate(levels)}
    in_channels = [widths[k] for k in levels]
    return BackboneWithFPN(body, return_layers, in_channels, out_channels,
                           extra_blocks=extra_blocks or LastLevelMaxPool())
