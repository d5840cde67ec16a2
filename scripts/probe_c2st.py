"""How separable two image sets are for the c2st classifier at several training lengths and
sizes (is a realism gap visible at all?). Writes JSON.

    python scripts/probe_c2st.py --real data/real --sim data/sim [--refined data/refined] \
        --settings 150x64 500x64 500x128 --out probe_c2st.json

Each setting is ``<steps>x<size>``; the classifier width is refiner.metrics.c2st's default.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from refiner.metrics import c2st
from sim2real.dataset import DatasetReader


def images(root: str) -> list[Path]:
    return [r.image_path for r in DatasetReader(root).records]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", required=True)
    ap.add_argument("--sim", required=True)
    ap.add_argument("--refined")
    ap.add_argument("--settings", nargs="+", default=["150x64", "500x64", "500x128"])
    ap.add_argument("--out", default="probe_c2st.json")
    args = ap.parse_args()
    real, sets = images(args.real), {"sim": images(args.sim)}
    if args.refined:
        sets["refined"] = images(args.refined)
    rows = []
    for setting in args.settings:
        steps, size = (int(v) for v in setting.split("x"))
        start = time.perf_counter()
        row = {"steps": steps, "size": size, **{k: round(c2st(real, v, steps=steps, size=size), 4) for k, v in sets.items()}}
        row["seconds"] = round(time.perf_counter() - start, 1)
        rows.append(row)
        print(json.dumps(row), flush=True)
    Path(args.out).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
