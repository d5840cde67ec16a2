"""Speed of the default detector at 128x128: training and evaluation images/s, Lightning vs a
plain loop over the same torchvision model, measured side by side (interleaved rounds) in one run.

    python scripts/bench_detector.py --out bench_detector.json [--detector fcos_tiny] [--threads 2]

The Lightning numbers time steady-state batches only (a callback stamps batch starts), so the
Trainer's one-off setup is not counted; what is counted is the per-step cost of the wrapper
(logging, hooks, optimizer/scheduler plumbing) that a long run pays every step.
"""
from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from torchmetrics.detection import MeanAveragePrecision

from sim2real.app import CONF_DIR
from pipeline.config import register_configs
from sim2real.instantiate import make_optimizer
from sim2real.synthetic import make_shapes_dataset
from train.data import DetectionDataset, eval_loader, train_loader
from train.detectors import create as create_detector
from train.module import DetectorModule
from train.sources import load_source


class StepTimer(pl.Callback):
    """Wall time of steady-state batches (after ``skip`` warm-up batches)."""

    def __init__(self, skip: int) -> None:
        self.skip, self.stamps = skip, []

    def _stamp(self, batch_idx: int) -> None:
        if batch_idx >= self.skip:
            self.stamps.append(time.perf_counter())

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        self._stamp(batch_idx)

    def on_train_end(self, trainer, module):
        self.stamps.append(time.perf_counter())

    def on_validation_batch_start(self, trainer, module, batch, batch_idx, dataloader_idx=0):
        self._stamp(batch_idx)

    def on_validation_end(self, trainer, module):
        self.stamps.append(time.perf_counter())


def plain_train(model, loader, optimizer, steps: int, skip: int) -> float:
    model.train()
    it, start = iter(loader), None
    for i in range(steps + skip):
        if i == skip:
            start = time.perf_counter()
        images, targets = next(it)
        loss = sum(model(images, targets).values())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def lightning_train(module, loader, steps: int, skip: int) -> float:
    timer = StepTimer(skip)
    trainer = pl.Trainer(accelerator="cpu", devices=1, max_steps=steps + skip, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                         limit_val_batches=0, callbacks=[timer])
    trainer.fit(module, train_dataloaders=loader)
    return timer.stamps[-1] - timer.stamps[0]


@torch.no_grad()
def plain_eval(model, loader, batches: int, skip: int) -> float:
    model.eval()
    metric = MeanAveragePrecision(box_format="xyxy", iou_type="bbox", backend="faster_coco_eval")
    it, start = iter(loader), None
    for i in range(batches + skip):
        if i == skip:
            start = time.perf_counter()
        images, targets = next(it)
        metric.update(model(images), [{"boxes": t["boxes"], "labels": t["labels"]} for t in targets])
    metric.compute()
    return time.perf_counter() - start


def lightning_eval(module, loader, batches: int, skip: int) -> float:
    timer = StepTimer(skip)
    trainer = pl.Trainer(accelerator="cpu", devices=1, logger=False, enable_progress_bar=False,
                         enable_model_summary=False, limit_val_batches=batches + skip, callbacks=[timer])
    trainer.validate(module, dataloaders=loader, verbose=False)
    return timer.stamps[-1] - timer.stamps[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detector", default="fcos_tiny", help="sim2real/conf/detector option")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=12, help="timed training steps per round")
    parser.add_argument("--eval-batches", type=int, default=8, help="timed evaluation batches per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("bench_detector.json"))
    args = parser.parse_args()
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    register_configs()
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(config_name="train", overrides=[f"detector={args.detector}"])
    skip = 2
    n_images = args.batch * (args.steps + skip + 1)
    with tempfile.TemporaryDirectory() as tmp:
        root = make_shapes_dataset(Path(tmp) / "shapes", num_images=n_images, size=args.size, seed=0)
        samples = load_source(root, ["square", "disc"], {}, key="bench").samples
        data = DetectionDataset(samples, ["square", "disc"])
        train = train_loader([data], None, batch_size=args.batch, num_workers=0, seed=0)
        evaluate = eval_loader(data, batch_size=args.batch)
        results: dict[str, list[float]] = {k: [] for k in ("plain_train", "lightning_train", "plain_eval", "lightning_eval")}
        for _ in range(args.rounds):
            torch.manual_seed(0)
            model = create_detector(cfg.detector.name, 2, args.size)
            opt = make_optimizer(dict(cfg.detector.optimizer), model.parameters())
            results["plain_train"].append(args.batch * args.steps / plain_train(model, train, opt, args.steps, skip))
            torch.manual_seed(0)
            module = DetectorModule(create_detector(cfg.detector.name, 2, args.size), optimizer=dict(cfg.detector.optimizer),
                                    warmup_steps=cfg.detector.warmup_steps, lr_schedule=cfg.detector.lr_schedule)
            results["lightning_train"].append(args.batch * args.steps / lightning_train(module, train, args.steps, skip))
            results["plain_eval"].append(args.batch * args.eval_batches / plain_eval(module.model, evaluate, args.eval_batches, skip))
            results["lightning_eval"].append(args.batch * args.eval_batches / lightning_eval(module, evaluate, args.eval_batches, skip))
    med = {k: statistics.median(v) for k, v in results.items()}
    report = {
        "detector": cfg.detector.name, "image_size": args.size, "batch_size": args.batch, "threads": args.threads,
        "rounds": args.rounds, "steps_per_round": args.steps, "eval_batches_per_round": args.eval_batches,
        "images_per_s": {k: round(v, 2) for k, v in med.items()},
        "all_rounds": {k: [round(x, 2) for x in v] for k, v in results.items()},
        "lightning_overhead_train": round(1 - med["lightning_train"] / med["plain_train"], 4),
        "lightning_overhead_eval": round(1 - med["lightning_eval"] / med["plain_eval"], 4),
    }
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
