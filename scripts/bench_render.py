#!/usr/bin/env python
"""Benchmark the render stage: steady-state images/s, share of time in Cycles, memory growth.

    python scripts/bench_render.py --images 120 --workers 2 --out bench_render.json [hydra overrides...]

Runs ``render.run.run`` on a composed ``render`` config (real Blender, all outputs written)
and writes JSON: overall and steady-state rates (after ``--warmup`` images, and the best
window of ``--window`` images, because the CPU is shared), the fraction of worker time
spent inside Cycles' render call, and worker resident memory early vs late in the run.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from hydra import compose, initialize_config_dir

from sim2real.app import CONF_DIR
from pipeline.config import register_configs


def steady(done_at: list[float], warmup: int, window: int) -> dict:
    t = np.asarray(done_at)
    out = {"steady_images_per_s": None, "best_window_images_per_s": None}
    if len(t) > warmup + 1:
        out["steady_images_per_s"] = round((len(t) - 1 - warmup) / (t[-1] - t[warmup]), 4)
    if len(t) > window:
        rates = window / (t[window:] - t[:-window])
        out["best_window_images_per_s"] = round(float(rates.max()), 4)
        out["median_window_images_per_s"] = round(float(np.median(rates)), 4)
    return out


def cpu_bound_rate(cpu_s: list, cores: int) -> dict:
    """CPU seconds per image (all threads of a worker, first image of each worker left out)
    and the rate ``cores`` dedicated cores would give: fair on a CPU shared with others."""
    last: dict[int, float] = {}
    per_image = []
    for wid, cpu in cpu_s:
        if wid in last:
            per_image.append(cpu - last[wid])
        last[wid] = cpu
    if not per_image:
        return {}
    mean = float(np.mean(per_image))
    return {"cpu_s_per_image": round(mean, 4), "cpu_bound_images_per_s": round(cores / mean, 4)}


def memory(rss: list, warmup: int) -> dict:
    """Worker RSS (MiB): mean over the 50 images after warm-up vs the last 50 images."""
    if len(rss) < warmup + 100:
        return {}
    mb = np.asarray([r[2] for r in rss])
    early, late = float(mb[warmup:warmup + 50].mean()), float(mb[-50:].mean())
    return {"rss_early_mb": round(early, 1), "rss_late_mb": round(late, 1), "rss_max_mb": round(float(mb.max()), 1),
            "rss_growth": round(late / early - 1, 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=120)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--resolution", type=int, default=128)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--window", type=int, default=30)
    ap.add_argument("--out", default="bench_render.json")
    ap.add_argument("--keep", action="store_true", help="keep the rendered dataset")
    ap.add_argument("overrides", nargs="*", help="extra Hydra overrides, e.g. reality=proxy_real")
    args = ap.parse_args()
    register_configs()
    out_dir = Path(tempfile.mkdtemp(prefix="bench_render_"))
    overrides = [f"num_images={args.images}", f"workers={args.workers}", f"threads={args.threads}",
                 f"resolution={args.resolution}", f"out_dir={out_dir}", "logger=none", *args.overrides]
    with initialize_config_dir(CONF_DIR, version_base="1.3"):
        cfg = compose("render", overrides=overrides)
    from render.run import run

    t0 = time.time()
    res = run(cfg)
    stats = res.pop("stats")
    result = {
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]), "overrides": overrides,
        "cpu_count": os.cpu_count(), "load_avg_at_end": os.getloadavg(), "wall_s": round(time.time() - t0, 2),
        "images": res["rendered"], "images_per_s_overall": res["images_per_s"],
        **steady(stats["done_at"], args.warmup, args.window),
        **cpu_bound_rate(stats["cpu_s"], args.workers * args.threads or os.cpu_count()),
        "render_fraction": res["render_fraction"],
        "outside_render_fraction": None if res["render_fraction"] is None else round(1 - res["render_fraction"], 4),
        **memory(stats["rss_mb"], args.warmup), "restarts": res["restarts"], "classes": res["classes"],
    }
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    if not args.keep:
        shutil.rmtree(out_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
