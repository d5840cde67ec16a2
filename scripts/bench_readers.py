"""What the readers make of real sets: layout detected, images, boxes, ignore regions, every fix.

    python scripts/bench_readers.py ../shared/real/cards ../shared/real/lmo ../shared/real/cubes/data \
        [--split SPLIT] [--fit keep crop letterbox --resolution 256] [--out readers.json]

With ``--fit``, also how many boxes each import rule would keep at ``--resolution`` (the crop
rule drops a box that keeps less than half its area inside the centre square).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from sim2real.importing import fit_image
from sim2real.readers import load_labelled


def boxes_kept(data, resolution: int, rule: str) -> int:
    kept = 0
    for rec in data.records:
        if rec.width is None or rec.height is None:
            continue
        blank = np.zeros((rec.height, rec.width, 3), np.uint8)
        _, _, keep = fit_image(blank, rec.boxes, resolution, rule=rule)
        kept += int(keep.sum())
    return kept


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="+", type=Path)
    ap.add_argument("--split")
    ap.add_argument("--fit", nargs="*", default=[], choices=["keep", "letterbox", "crop"])
    ap.add_argument("--resolution", type=int, default=256)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    rows = []
    for path in args.sets:
        start = time.perf_counter()
        data = load_labelled(path, split=args.split)
        seconds = time.perf_counter() - start
        row = {"set": str(path), "format": data.fmt, "images": len(data), "boxes": data.num_boxes,
               "visible_boxes": data.num_boxes - data.num_ignored, "ignore_regions": data.num_ignored,
               "classes": data.classes, "issues": dict(data.issues.counts), "read_s": round(seconds, 3),
               "kept_by_rule": {rule: boxes_kept(data, args.resolution, rule) for rule in args.fit}}
        rows.append(row)
        kept = "  ".join(f"{rule}: {n}/{data.num_boxes}" for rule, n in row["kept_by_rule"].items())
        print(f"{path}: {data.fmt}, {len(data)} images, {data.num_boxes} boxes ({data.num_ignored} ignore regions), "
              f"fixes {row['issues'] or 'none'}, {seconds:.2f} s  {kept}")
    if args.out:
        args.out.write_text(json.dumps({"resolution": args.resolution, "sets": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
