"""Projected boxes (render/projection.py, what the scene fit scores) against rendered labels.

    python scripts/bench_projection.py <rendered set> [<rendered set> ...] [--images 100] [--out runs/projection.json]

For each set: every sampled image drawn again from its recorded config, its targets
projected, and the boxes compared with the rendered ones (render/projection_check.py):
median and 10th-percentile IoU on the objects nothing hides, box counts, median sizes, and
the distance between the projected and the rendered label statistics. Writes JSON.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("sets", type=Path, nargs="+")
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--out", type=Path, default=Path("runs/projection.json"))
    args = ap.parse_args()
    from render.projection_check import check_projection

    results = []
    for path in args.sets:
        start = time.perf_counter()
        result = check_projection(path, max_images=args.images)
        result["seconds"] = round(time.perf_counter() - start, 1)
        results.append(result)
        print(json.dumps(result))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
