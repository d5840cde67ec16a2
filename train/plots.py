"""Figures a person would rather look at than a JSON file: PR curves, predictions, slices."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sim2real.images import read_rgb  # noqa: E402
from train.slices import SliceReport  # noqa: E402


def pr_curves(curves: dict[str, tuple[np.ndarray, np.ndarray]], metrics: dict, path: Path) -> Path:
    """Precision against recall at IoU 0.5, one line per class, AP50 in the legend."""
    fig, ax = plt.subplots(figsize=(5, 4), dpi=120)
    for name, (recall, precision) in sorted(curves.items()):
        ap = metrics.get(f"ap50/{name}")
        ax.plot(recall, precision, label=f"{name} (AP50 {ap:.3f})" if ap is not None else name)
    if not curves:
        ax.text(0.5, 0.5, "no true boxes", ha="center", va="center")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02),
           title=f"PR @ IoU 0.5 (mAP50 {metrics.get('map50') or 0:.3f})")
    ax.grid(alpha=0.3)
    if curves:
        ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def prediction_grid(image_paths: Sequence[Path], preds: Sequence[dict], targets: Sequence[dict],
                    classes: Sequence[str], path: Path, *, score_threshold: float = 0.3, cols: int = 4) -> Path:
    """Test images with true boxes (green) and predictions above the threshold (red, scored)."""
    n = len(image_paths)
    rows = max(1, int(np.ceil(n / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.6 * rows), dpi=110, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, img_path, pred, tgt in zip(axes.flat, image_paths, preds, targets):
        ax.imshow(read_rgb(img_path))
        for box in tgt["boxes"].tolist():
            ax.add_patch(plt.Rectangle((box[0], box[1]), box[2] - box[0], box[3] - box[1],
                                       fill=False, color="lime", lw=1.2))
        keep = pred["scores"] >= score_threshold
        for box, score, label in zip(pred["boxes"][keep].tolist(), pred["scores"][keep].tolist(),
                                     pred["labels"][keep].tolist()):
            ax.add_patch(plt.Rectangle((box[0], box[1]), box[2] - box[0], box[3] - box[1],
                                       fill=False, color="red", lw=1.0, ls="--"))
            name = classes[label - 1] if 0 < label <= len(classes) else str(label)
            ax.text(box[0], box[1], f"{name} {score:.2f}", color="white", fontsize=5,
                    bbox=dict(facecolor="red", alpha=0.6, pad=0.5, lw=0))
        ax.set_title(Path(img_path).name, fontsize=6)
    fig.suptitle("green: truth   red: predicted", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def slice_table(report: SliceReport, path: Path) -> Path:
    """The slice table as an image; failing slices in red, passing checked ones in green."""
    rows = report.rows()
    columns = ["slice", "value", "images", "boxes", "map50", "map", "threshold", "status"]
    cells = [[format_cell(r[c]) for c in columns] for r in rows] or [["(no slices)"] + [""] * (len(columns) - 1)]
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(cells) + 0.8), dpi=120)
    ax.axis("off")
    table = ax.table(cellText=cells, colLabels=columns, loc="center", cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    for i, r in enumerate(rows, start=1):
        colour = {"FAIL": "#f4b6b6", "ok": "#c8ecc8"}.get(r["status"])
        if colour:
            for j in range(len(columns)):
                table[i, j].set_facecolor(colour)
    ax.set_title(f"test metrics per slice ({report.metric} checked)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def format_cell(value: object) -> str:
    """A metric for a table cell: 3 decimals, '-' for undefined."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)

