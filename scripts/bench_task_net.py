"""How well the refiner's task net segments a rendered set's objects: the IoU behind label preservation.

    python scripts/bench_task_net.py runs/cubes/data/sim runs/cards/data/sim [--seeds 0 1 2] [--out task_net.json]

Per set and seed: the task net trained as the refiner trains it (refiner.task_net defaults), then
its object IoU on the set's first 100 images, for the current rule (half the crops on an object,
rare classes up-weighted) and the plain one (random crops, plain cross-entropy). An IoU of 0 makes
label preservation unmeasurable (0/0). Writes JSON and prints a table.
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch

from refiner.config import TaskNetConfig
from refiner.data import load_sim
from refiner.metrics import label_preservation
from refiner.tasknet import class_weights, train_task_net
from bench_real import mean_sd  # scripts/ is on the path when run as a script

RULES = {"plain": dict(object_crops=0.0, balanced=False), "current": dict(object_crops=0.5, balanced=True)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="+", type=Path, help="rendered datasets (the contract's folders)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--out", type=Path, default=Path("task_net.json"))
    args = ap.parse_args()
    torch.set_num_threads(2)
    t = TaskNetConfig()
    result = {}
    for path in args.sets:
        sim = load_sim(path)
        n = min(args.images, len(sim.images))
        fg = statistics.fmean(float((s > 0).mean()) for s in sim.semantic)
        row = {"object_share_of_pixels": round(fg, 4),
               "class_weights": [round(w, 3) for w in class_weights(sim.semantic, sim.num_classes).tolist()]}
        for rule, kw in RULES.items():
            ious = []
            for seed in args.seeds:
                net = train_task_net(sim.images, sim.semantic, sim.num_classes, width=t.width, steps=t.steps, lr=t.lr,
                                     batch_size=t.batch_size, crop=t.crop, augment=t.photometric_aug, seed=seed, **kw)
                ious.append(label_preservation(net, sim.images[:n], sim.images[:n], sim.semantic[:n],
                                               sim.num_classes)["iou_sim"])
            row[rule] = mean_sd(ious)
        result[str(path)] = row
        print(f"{path}: objects {fg:.1%} of the pixels, weights {row['class_weights']}; IoU plain "
              f"{row['plain']['mean']:.3f} ± {row['plain']['sd']:.3f}, current "
              f"{row['current']['mean']:.3f} ± {row['current']['sd']:.3f}", flush=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
