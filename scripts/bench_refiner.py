"""Refiner speed on CPU: training images/s (CycleGAN and FastCUT) and refine-apply images/s.

Every figure is measured against a plain eager baseline in the same run, interleaved
round by round (the CPU is shared, so only side-by-side ratios mean much):

    python scripts/bench_refiner.py --threads 2 --crop 128 --out bench_refiner.json

Training: batch 1, ``--crop`` crops, the model's own step (G then D, as the engine runs it),
paper losses (no label consistency, no DiffAugment). Variants: ``eager`` (fp32, NCHW) and
``channels_last``; ``--compile`` adds torch.compile (slow to warm up on 2 cores).
Apply: the trained-refiner forward at full size; ``eager`` = autograd on, batch 1;
``tuned`` = inference_mode, batch 8, best memory format.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Callable

import torch

from refiner.models import create as create_refiner

log = logging.getLogger("bench_refiner")
PAPER = {"preset": "paper", "loss": {"label": 0.0}, "diffaug": {"enabled": False}, "task_net": {"enabled": False}}


def _batch(size: int, memory_format: torch.memory_format) -> dict[str, torch.Tensor]:
    mask = torch.zeros(1, 1, size, size)
    mask[..., size // 4: size // 2, size // 4: size // 2] = 1
    b = {"sim": torch.rand(1, 3, size, size) * 2 - 1, "mask": mask, "real": torch.rand(1, 3, size, size) * 2 - 1}
    return {k: v.contiguous(memory_format=memory_format) for k, v in b.items()}


def train_stepper(name: str, crop: int, variant: str) -> Callable[[], None]:
    torch.manual_seed(0)
    model = create_refiner(name, **PAPER)
    fmt = torch.channels_last if variant in ("channels_last", "compile") else torch.contiguous_format
    model = model.to(memory_format=fmt)
    if variant == "compile":
        for attr in ("net_g", "net_g_s2r", "net_g_r2s"):
            if hasattr(model, attr):
                setattr(model, attr, torch.compile(getattr(model, attr)))
    opt_g = torch.optim.Adam(model.generator_parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(model.discriminator_parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_params = list(model.discriminator_parameters())
    batch = _batch(crop, fmt)

    def step() -> None:
        model.set_input(batch)
        model.forward()
        for p in d_params:
            p.requires_grad_(False)
        opt_g.zero_grad(set_to_none=True)
        model.loss_g(model.schedule(10**9)).backward()
        opt_g.step()
        for p in d_params:
            p.requires_grad_(True)
        opt_d.zero_grad(set_to_none=True)
        model.loss_d().backward()
        opt_d.step()

    return step


def apply_stepper(name: str, preset: str, size: int, variant: str, batch: int) -> Callable[[], None]:
    torch.manual_seed(0)
    model = create_refiner(name, preset=preset, task_net={"enabled": False}).eval()
    gen = model.generator
    with torch.no_grad():  # a "trained" head: non-zero so the full network runs
        for p in gen.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    if variant == "tuned":
        gen = gen.to(memory_format=torch.channels_last)
        x = (torch.rand(batch, 3, size, size) * 2 - 1).contiguous(memory_format=torch.channels_last)

        def step() -> None:
            with torch.inference_mode():
                model.refine(x)
    else:
        x = torch.rand(1, 3, size, size) * 2 - 1

        def step() -> None:
            for _ in range(batch):  # same image count as the tuned batch
                gen(x).clamp(-1, 1)
    return step


def interleaved(steppers: dict[str, Callable[[], None]], rounds: int, images_per_call: int) -> dict[str, dict]:
    """Warm each up once, then time one call of each variant per round, alternating."""
    for fn in steppers.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in steppers}
    cpu: dict[str, list[float]] = {k: [] for k in steppers}
    for _ in range(rounds):
        for k, fn in steppers.items():
            t, c = time.perf_counter(), time.process_time()
            fn()
            times[k].append(time.perf_counter() - t)
            cpu[k].append(time.process_time() - c)
    threads = torch.get_num_threads()
    out = {}
    for k, v in times.items():
        wall, cpu_s = statistics.median(v), statistics.median(cpu[k])
        out[k] = {"median_s_per_call": wall, "images_per_s": images_per_call / wall,
                  "cpu_s_per_image": cpu_s / images_per_call,
                  # what `threads` dedicated cores would give if the CPU were not shared
                  "images_per_s_dedicated": threads * images_per_call / cpu_s, "calls": len(v)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--apply-batch", type=int, default=8)
    ap.add_argument("--compile", action="store_true", help="also time torch.compile (minutes of warm-up)")
    ap.add_argument("--models", default="cyclegan,fastcut")
    ap.add_argument("--out", default="bench_refiner.json")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    result: dict = {"load_average_at_start": load, "threads": args.threads, "crop": args.crop, "batch": 1, "torch": torch.__version__,
                    "cpu": platform.processor() or platform.machine(), "train": {}, "apply": {}}
    variants = ["eager", "channels_last"] + (["compile"] if args.compile else [])
    for name in args.models.split(","):
        log.info("training %s (paper size)...", name)
        r = interleaved({v: train_stepper(name, args.crop, v) for v in variants}, args.rounds, 1)
        best = max((k for k in r if k != "eager"), key=lambda k: r[k]["images_per_s"])
        r["best"] = best
        r["speedup_vs_eager"] = r[best]["images_per_s"] / r["eager"]["images_per_s"]
        r["cpu_speedup_vs_eager"] = r["eager"]["cpu_s_per_image"] / r[best]["cpu_s_per_image"]
        result["train"][name] = r
        log.info("  %s", json.dumps(r))
    for preset in ("small", "paper"):
        log.info("apply fastcut generator (%s preset)...", preset)
        r = interleaved({v: apply_stepper("fastcut", preset, args.crop, v, args.apply_batch) for v in ("eager", "tuned")},
                        args.rounds, args.apply_batch)
        r["speedup_vs_eager"] = r["tuned"]["images_per_s"] / r["eager"]["images_per_s"]
        r["cpu_speedup_vs_eager"] = r["eager"]["cpu_s_per_image"] / r["tuned"]["cpu_s_per_image"]
        result["apply"][preset] = r
        log.info("  %s", json.dumps(r))
    result["load_average_at_end"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    Path(args.out).write_text(json.dumps(result, indent=2))
    log.info("wrote %s", args.out)


if __name__ == "__main__":
    main()
