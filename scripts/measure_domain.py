"""What a set of images measures, to calibrate the built-in proxy-real domain to real photos.

    python scripts/measure_domain.py cards=../shared/real/cards lmo=../shared/real/lmo \
        cubes=../shared/real/cubes/data proxy=runs/pipeline/data/real_test sim=runs/pipeline/data/sim \
        --resolution 128 --out domain.json

Each set is read by the project's readers and brought to ``--resolution`` by the import rule
(longer side, aspect kept), then measured: the camera statistics of ``sim2real.camera_stats``
(median per image), the boxes' size as sqrt(area) over the longer side and their count per
image (labelled sets), and background clutter: the mean gradient magnitude outside the boxes.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy import ndimage

from sim2real.camera_stats import NAMES, image_stats
from sim2real.images import read_rgb
from sim2real.importing import fit_image
from sim2real.readers import load_labelled


def clutter(img: np.ndarray, boxes: np.ndarray) -> float:
    """Mean gradient magnitude (grey, 0..1) of the pixels outside every box."""
    grey = img.astype(np.float32).mean(2) / 255.0
    grad = np.hypot(ndimage.sobel(grey, 0), ndimage.sobel(grey, 1))
    outside = np.ones(grey.shape, bool)
    for x0, y0, x1, y1 in boxes.astype(int):
        outside[max(0, y0):y1, max(0, x0):x1] = False
    return float(grad[outside].mean()) if outside.any() else float("nan")


def measure(path: Path, resolution: int, max_images: int) -> dict:
    data = load_labelled(path)
    records = data.records[:: max(1, len(data.records) // max_images)][:max_images]
    stats, sizes, counts, clut = [], [], [], []
    for rec in records:
        img, boxes, _ = fit_image(read_rgb(rec.image_path), rec.boxes[~rec.ignore], resolution, rule="keep")
        stats.append(image_stats(img))
        side = max(img.shape[:2])
        sizes += list(np.sqrt(np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None))
                      / side)
        counts.append(len(boxes))
        clut.append(clutter(img, boxes))
    med = np.median(np.stack(stats), axis=0)
    out = {"format": data.fmt, "images": len(records), **{k: round(float(v), 4) for k, v in zip(NAMES, med)},
           "clutter": round(float(np.nanmedian(clut)), 4)}
    if data.fmt != "folder" and sizes:
        out.update({"boxes_per_image": round(float(np.mean(counts)), 2),
                    "box_size_p05_p50_p95": [round(float(v), 3) for v in np.percentile(sizes, [5, 50, 95])]})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="+", help="name=path")
    ap.add_argument("--resolution", type=int, default=128)
    ap.add_argument("--max-images", type=int, default=150)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    result = {}
    for item in args.sets:
        name, path = item.split("=", 1)
        result[name] = measure(Path(path), args.resolution, args.max_images)
    keys = ["noise", "saturation", "p05", "p50", "p95", "vignetting", "clutter", "boxes_per_image", "box_size_p05_p50_p95"]
    print(f"{'set':<8}" + "".join(f"{k:>14}" for k in keys[:-1]) + "   box size p5/50/95")
    for name, m in result.items():
        print(f"{name:<8}" + "".join(f"{m.get(k, float('nan')):>14.4f}" for k in keys[:-1]) + f"   {m.get(keys[-1])}")
    if args.out:
        args.out.write_text(json.dumps({"resolution": args.resolution, "sets": result}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
