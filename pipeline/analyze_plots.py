"""The domain analysis's label figures (pipeline/analyze.py): renders against photos, one panel
per statistic of sim2real/label_stats.py, each titled with its distance."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np

from sim2real.label_stats import LABELS, LabelStats

COLOURS = {"renders": "#1f77b4", "photos": "#d62728"}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _title(name: str, dists: Mapping[str, float], measure: str = "KS") -> str:
    d = dists.get(name, float("nan"))
    return f"{LABELS[name]}\n{measure} {d:.2f}" if d == d else LABELS[name]


def _histograms(ax, sim: np.ndarray, real: np.ndarray, *, integer: bool = False) -> None:
    """Overlaid normalised histograms on common bins (whole numbers for counts)."""
    both = np.concatenate([sim, real])
    if integer:
        bins = np.arange(both.min(), both.max() + 2) - 0.5
    else:
        lo, hi = np.percentile(both, [0.5, 99.5])
        bins = np.linspace(lo, hi if hi > lo else lo + 1e-3, 31)
    for label, values in (("renders", sim), ("photos", real)):
        ax.hist(np.clip(values, bins[0], bins[-1]), bins=bins, density=True, histtype="step", lw=1.6,
                color=COLOURS[label], label=f"{label} (n={len(values)})")
    ax.legend(frameon=False, fontsize=7)


def _bars(ax, groups: list[str], sim: list[float], real: list[float]) -> None:
    x = np.arange(len(groups))
    ax.bar(x - 0.2, sim, 0.4, color=COLOURS["renders"], label="renders")
    ax.bar(x + 0.2, real, 0.4, color=COLOURS["photos"], label="photos")
    ax.set_xticks(x, groups, rotation=45 if len(groups) > 4 else 0, ha="right" if len(groups) > 4 else "center",
                  fontsize=7)
    ax.set_ylabel("share of boxes")
    ax.legend(frameon=False, fontsize=7)


def label_stats_figure(sim: LabelStats, real: LabelStats, dists: Mapping[str, float], out_png: Path) -> Path:
    """Size, aspect and count histograms, class-balance and truncation bars, and every distance
    ranked (the verdict's order)."""
    plt = _plt()
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.5), dpi=100)
    for ax, name in zip(axes[0], ("size", "aspect", "count")):
        _histograms(ax, sim.values(name), real.values(name), integer=name == "count")
        ax.set_title(_title(name, dists), fontsize=9)
        ax.set_ylabel("density")
    classes = sorted(set(sim.classes) | set(real.classes))
    ps, pr = sim.class_shares(classes), real.class_shares(classes)
    _bars(axes[1, 0], classes, [ps[c] for c in classes], [pr[c] for c in classes])
    axes[1, 0].set_title(_title("classes", dists, "total variation"), fontsize=9)
    _bars(axes[1, 1], ["cut by the frame"], [float(sim.truncated.mean())], [float(real.truncated.mean())])
    axes[1, 1].set_title(_title("truncated", dists, "share difference"), fontsize=9)
    ranked = sorted(((v, k) for k, v in dists.items() if v == v), reverse=True)
    ax = axes[1, 2]
    ax.barh([LABELS[k] for _, k in ranked][::-1], [v for v, _ in ranked][::-1], color="#555")
    ax.axvline(0.1, color="#aaa", ls="--", lw=1)
    ax.set_xlim(0, 1)
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title("distance per statistic (0 = alike, 1 = disjoint)", fontsize=9)
    fig.tight_layout()
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png)
    plt.close(fig)
    return out_png


def centres_figure(sim: LabelStats, real: LabelStats, dists: Mapping[str, float], out_png: Path,
                   *, bins: int = 16) -> Path:
    """Where box centres fall, as shares of boxes per cell of the frame; one colour scale for
    both sets, so a brighter cell means more boxes there whichever set it is in."""
    plt = _plt()
    edges = np.linspace(0, 1, bins + 1)
    maps = {}
    for label, st in (("renders", sim), ("photos", real)):
        h, _, _ = np.histogram2d(np.clip(st.cy, 0, 1), np.clip(st.cx, 0, 1), bins=[edges, edges])
        maps[label] = h / max(h.sum(), 1)
    top = max(float(m.max()) for m in maps.values()) or 1.0
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.2), dpi=100)
    for ax, (label, m) in zip(axes, maps.items()):
        im = ax.imshow(m, extent=(0, 1, 1, 0), vmin=0, vmax=top, cmap="viridis")
        ax.set_title(f"{label}: box centres", fontsize=9)
        ax.set_xlabel("x (share of width)")
        ax.set_ylabel("y (share of height)")
    fig.colorbar(im, ax=axes, fraction=0.03, label="share of boxes")
    kx, ky = dists.get("cx", float("nan")), dists.get("cy", float("nan"))
    fig.suptitle(f"Box centre positions (KS x {kx:.2f}, y {ky:.2f})", fontsize=10)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png)
    plt.close(fig)
    return out_png
