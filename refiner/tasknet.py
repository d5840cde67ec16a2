"""The small task network behind label consistency and the label-preservation score.

A small U-Net trained on the sim images to segment objects (any annotated instance) from
background, then frozen. Photometric augmentation during its
training makes it judge shape rather than style, so a refined image that keeps every object
where it was scores as well as its sim source.
"""
from __future__ import annotations

import logging

import kornia.augmentation as K
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

log = logging.getLogger(__name__)


def _block(cin: int, cout: int) -> nn.Sequential:
    # GroupNorm, not BatchNorm: tiny batches and a train/eval switch would make BN's running
    # statistics a second source of error in a network whose errors we measure.
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.GroupNorm(4, cout), nn.ReLU(True),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.GroupNorm(4, cout), nn.ReLU(True))


class TinySegmenter(nn.Module):
    """A four-level U-Net, fully convolutional; input NCHW in [-1, 1], logits at input size.

    Four poolings give a receptive field of ~140 px: telling the inside of a large flat object
    from flat background needs context, not just edges.
    """

    def __init__(self, num_classes: int, width: int = 12, levels: int = 4) -> None:
        super().__init__()
        self.num_classes = num_classes
        chans = [width * min(2 ** i, 4) for i in range(levels + 1)]
        self.down = nn.ModuleList([_block(3, chans[0])] + [_block(chans[i], chans[i + 1]) for i in range(levels)])
        self.up = nn.ModuleList(_block(chans[i + 1] + chans[i], chans[i]) for i in reversed(range(levels)))
        self.head = nn.Conv2d(chans[0], num_classes, 1)
        self.multiple = 2 ** levels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        ph, pw = (-h) % self.multiple, (-w) % self.multiple
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="replicate")
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        x = skips.pop()
        for block in self.up:
            x = block(torch.cat([F.interpolate(x, scale_factor=2.0), skips.pop()], 1))
        return self.head(x)[..., :h, :w]


def photometric(width: float = 1.0) -> nn.Module:
    return nn.Sequential(
        K.ColorJitter(0.3, 0.3, 0.4, 0.05, p=0.9),
        K.RandomGaussianBlur((5, 5), (0.1, 1.5), p=0.5),
        K.RandomGaussianNoise(std=0.04, p=0.5),
    )


RARE = 2.0  # sqrt(background share / class share) above which a class is up-weighted
MAX_CLASS_WEIGHT = 20.0


def class_weights(semantic: list[np.ndarray], num_classes: int) -> torch.Tensor:
    """Cross-entropy weights for rare classes: sqrt(background share / class share) / RARE, at
    least 1, at most MAX_CLASS_WEIGHT. Objects that cover 1 % of the pixels (20 mm cubes in a
    webcam frame) would otherwise be learnt as background, IoU 0 on every image; classes that
    cover more (cards, the built-in shapes) keep weight 1, where weighting lowers their IoU."""
    counts = np.zeros(num_classes, dtype=np.float64)
    for sem in semantic:
        counts += np.bincount(sem.ravel(), minlength=num_classes)[:num_classes]
    share = counts / max(counts.sum(), 1.0)
    weights = np.ones(num_classes)
    present = share > 0
    if present[0]:
        weights[present] = np.sqrt(share[0] / share[present]) / RARE
    weights[0] = 1.0
    return torch.tensor(np.clip(weights, 1.0, MAX_CLASS_WEIGHT), dtype=torch.float32)


def _crop_origin(sem: np.ndarray, c: int, on_object: bool, gen: torch.Generator) -> tuple[int, int]:
    """A random c x c crop's top-left corner; ``on_object``: one that holds a random object pixel."""
    h, w = sem.shape
    ys, xs = np.nonzero(sem) if on_object else ((), ())
    if len(ys) == 0:
        return int(torch.randint(h - c + 1, (1,), generator=gen)), int(torch.randint(w - c + 1, (1,), generator=gen))
    k = int(torch.randint(len(ys), (1,), generator=gen))
    y, x = int(ys[k]), int(xs[k])
    y0 = int(torch.randint(max(0, y - c + 1), min(y, h - c) + 1, (1,), generator=gen))
    x0 = int(torch.randint(max(0, x - c + 1), min(x, w - c) + 1, (1,), generator=gen))
    return y0, x0


def train_task_net(images: list[np.ndarray], semantic: list[np.ndarray], num_classes: int, *,
                   width: int = 16, steps: int = 300, lr: float = 3e-3, batch_size: int = 8, crop: int = 64,
                   augment: bool = True, seed: int = 0, object_crops: float = 0.5,
                   balanced: bool = True) -> TinySegmenter:
    """Train on random crops of the sim set, ``object_crops`` of them holding an object, with
    rare classes up-weighted (``balanced``); returns the network frozen in eval mode."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = TinySegmenter(num_classes, width)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(1, steps))
    aug = photometric() if augment else nn.Identity()
    weights = class_weights(semantic, num_classes) if balanced else None
    net.train()
    loss = torch.zeros(())
    for step in range(steps):
        xs, ys = [], []
        for _ in range(batch_size):
            i = int(torch.randint(len(images), (1,), generator=gen))
            img, sem = images[i], semantic[i]
            c = min(crop, *sem.shape)
            y0, x0 = _crop_origin(sem, c, float(torch.rand((), generator=gen)) < object_crops, gen)
            xs.append(torch.from_numpy(np.ascontiguousarray(img[y0:y0 + c, x0:x0 + c])).permute(2, 0, 1))
            ys.append(torch.from_numpy(sem[y0:y0 + c, x0:x0 + c].astype(np.int64)))
        x = torch.stack(xs).float() / 255.0
        with torch.no_grad():
            x = aug(x)
        logits = net(x * 2 - 1)
        loss = F.cross_entropy(logits, torch.stack(ys), weight=weights)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    log.info("task net trained: %d steps, final loss %.3f", steps, float(loss.detach()))
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def confusion(net: nn.Module, x: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Per-class (intersection, union) counts of the net's masks against the ground truth."""
    with torch.inference_mode():
        pred = net(x).argmax(1)
    inter = torch.zeros(num_classes, dtype=torch.float64)
    union = torch.zeros(num_classes, dtype=torch.float64)
    for c in range(1, num_classes):  # background excluded: objects are what labels describe
        p, t = pred == c, target == c
        inter[c] += (p & t).sum().item()
        union[c] += (p | t).sum().item()
    return torch.stack([inter, union])
