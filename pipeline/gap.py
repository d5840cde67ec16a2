"""Gap diagnostics that need no labels: a t-SNE map of one feature extractor's embeddings."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import torch

from sim2real.images import SkipCounter

log = logging.getLogger(__name__)

DOMAIN_COLOURS = {"sim": "#1f77b4", "refined": "#2ca02c", "real": "#d62728"}


def random_features(stage: int = 4) -> Callable[[torch.Tensor], torch.Tensor]:
    """A fixed, seeded random ResNet-18 trunk: no weights to download, yet its pooled features
    separate images by colour, texture and noise statistics, which is what the gap is made of.
    ``stage`` (1-4) ends the trunk after that residual stage: random deeper stages wash out
    what tells images apart (pipeline/coverage.py measures this and stops at stage 2)."""
    from torchvision.models import resnet18

    if stage not in (1, 2, 3, 4):
        raise ValueError(f"stage must be 1, 2, 3 or 4, got {stage}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = resnet18(weights=None)
    trunk = torch.nn.Sequential(*list(net.children())[:4 + stage]).eval()  # stem (4 modules), then stages

    def features(batch: torch.Tensor) -> torch.Tensor:
        maps = trunk(batch)
        return torch.cat([maps.mean(dim=(2, 3)), maps.std(dim=(2, 3))], dim=1)

    return features


@torch.inference_mode()
def embed(paths: Sequence[Path], features: Callable[[torch.Tensor], torch.Tensor], *, batch: int = 32) -> np.ndarray:
    reader = SkipCounter("images for t-SNE")
    out = []
    for i in range(0, len(paths), batch):
        imgs = [im for im in (reader.read(p) for p in paths[i:i + batch]) if im is not None]
        if not imgs:
            continue
        # pooled features take any size; images of one size go through together
        groups = [imgs] if len({im.shape for im in imgs}) == 1 else [[im] for im in imgs]
        for group in groups:
            x = torch.from_numpy(np.stack(group)).permute(0, 3, 1, 2).float() / 255.0
            out.append(features(x).flatten(1).numpy())
    reader.report()
    return np.concatenate(out) if out else np.zeros((0, 1))


def tsne_plot(domains: Mapping[str, Sequence[Path]], out_png: Path, *, per_domain: int = 120, seed: int = 0,
              features: Callable[[torch.Tensor], torch.Tensor] | None = None, title: str = "") -> Path:
    """One point per image, one colour per domain, written to ``out_png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE

    features = features or random_features()
    rng = np.random.default_rng(seed)
    embs, names = [], []
    for name, paths in domains.items():
        paths = list(paths)
        pick = [paths[i] for i in sorted(rng.choice(len(paths), min(per_domain, len(paths)), replace=False))]
        e = embed(pick, features)
        embs.append(e)
        names += [name] * len(e)
    x = np.concatenate(embs)
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    perplexity = float(max(2, min(30, (len(x) - 1) // 3)))
    xy = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(x)
    fig, ax = plt.subplots(figsize=(5, 4.5), dpi=110)
    names_arr = np.array(names)
    for name in domains:
        sel = names_arr == name
        ax.scatter(xy[sel, 0], xy[sel, 1], s=10, alpha=0.7, label=name, c=DOMAIN_COLOURS.get(name))
    ax.set_xticks([]), ax.set_yticks([])
    ax.legend(frameon=False)
    ax.set_title(title or "t-SNE of image embeddings")
    fig.tight_layout()
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png)
    plt.close(fig)
    return out_png
