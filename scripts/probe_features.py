"""How far two image sets are apart in simple camera statistics, and how well a linear model on
those statistics tells them apart (a baseline for the c2st CNN). Writes JSON.

    python scripts/probe_features.py --real data/real --sim data/sim [--refined data/refined] \
        --out probe_features.json

The statistics and the test are sim2real/camera_stats.py's (``realism.stats_c2st`` in the
refiner's metrics); here every image of each dataset is used. Reported: each statistic's
median per set, and the 5-fold balanced accuracy telling real from each other set.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from sim2real.camera_stats import median_rows, separability, stats_matrix
from sim2real.dataset import DatasetReader


def load(root: str) -> list:
    ds = DatasetReader(root)
    return [ds.image(i) for i in range(len(ds))]


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
    header, rows = median_rows(sets, max_images=None)
    stats = {k: stats_matrix(v) for k, v in sets.items()}
    out = {
        "medians": {name: {r[0]: r[k] for r in rows} for k, name in enumerate(header[1:], start=1)},
        "logreg_vs_real": {k: round(separability(stats["real"], v), 4) for k, v in stats.items() if k != "real"},
    }
    print(json.dumps(out, indent=2))
    Path(args.out).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
