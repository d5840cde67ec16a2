"""How far apart two image sets are in simple camera statistics, and how well a linear model on
those statistics tells them apart (a baseline for the c2st CNN). Writes JSON.

    python scripts/probe_features.py --real data/real --sim data/sim [--refined data/refined] \
        --out probe_features.json

Per image: channel means and standard deviations, saturation (HSV, mean), noise (median
absolute Laplacian of the grey image), 5th/50th/95th grey percentiles and vignetting (centre
over border brightness). Reported: each statistic's median per set, and the 5-fold balanced
accuracy of a standardised logistic regression telling real from each other set.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy import ndimage
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sim2real.dataset import SimDataset

NAMES = ["mean_r", "mean_g", "mean_b", "std_r", "std_g", "std_b", "saturation", "noise",
         "p05", "p50", "p95", "vignetting"]


def features(img: np.ndarray) -> np.ndarray:
    x = img.astype(np.float32) / 255.0
    grey = x @ np.array([0.299, 0.587, 0.114], np.float32)
    mx, mn = x.max(2), x.min(2)
    saturation = np.where(mx > 0, (mx - mn) / np.maximum(mx, 1e-6), 0.0).mean()
    noise = np.median(np.abs(ndimage.laplace(grey)))
    h, w = grey.shape
    centre = grey[h // 4: 3 * h // 4, w // 4: 3 * w // 4].mean()
    border = np.concatenate([grey[: h // 8].ravel(), grey[-h // 8:].ravel(),
                             grey[:, : w // 8].ravel(), grey[:, -w // 8:].ravel()]).mean()
    return np.array([*x.mean((0, 1)), *x.std((0, 1)), saturation, noise,
                     *np.percentile(grey, [5, 50, 95]), centre / max(border, 1e-3)], np.float32)


def load(root: str) -> np.ndarray:
    ds = SimDataset(root)
    return np.stack([features(ds.image(i)) for i in range(len(ds))])


def separability(a: np.ndarray, b: np.ndarray, seed: int = 0) -> float:
    x, y = np.concatenate([a, b]), np.r_[np.ones(len(a)), np.zeros(len(b))]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, class_weight="balanced"))
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    return float(cross_val_score(model, x, y, cv=folds, scoring="balanced_accuracy").mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", required=True)
    ap.add_argument("--sim", required=True)
    ap.add_argument("--refined")
    ap.add_argument("--out", default="probe_features.json")
    args = ap.parse_args()
    sets = {"real": load(args.real), "sim": load(args.sim)}
    if args.refined:
        sets["refined"] = load(args.refined)
    out = {
        "medians": {k: dict(zip(NAMES, np.round(np.median(v, 0), 4).tolist())) for k, v in sets.items()},
        "logreg_vs_real": {k: round(separability(sets["real"], v), 4) for k, v in sets.items() if k != "real"},
    }
    print(json.dumps(out, indent=2))
    Path(args.out).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
