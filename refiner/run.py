"""In-process API of the refiner stage: ``run(cfg) -> dict`` on a composed ``refine`` config.

    train task net (frozen) -> train refiner (Lightning) -> refine-apply -> metrics

Files: ``<out_dir>/`` is the refined dataset; ``<work_dir>/`` (default ``<out_dir>_refiner``)
holds ``checkpoints/last.ckpt`` (+ ``step_XXXXXX.ckpt``), ``samples/`` grids and
``metrics.json``. The metrics are also stored in the refined ``dataset.json`` provenance.
"""
from __future__ import annotations

import json
import logging
import math
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from refiner.apply import apply_refiner, read_refined
from refiner.data import CropPairs, SimData, check_channels, load_real, load_sim
from refiner.engine import RefinerModule, StepCheckpoint, StepsProgressBar, make_strategy
from refiner.guard import check_outputs, record_run, run_config, run_key
from refiner.metrics import c2st, kid, label_preservation
from refiner.models import create as create_refiner
from refiner.tasknet import TinySegmenter, train_task_net
from sim2real import atomic, tracking
from sim2real.app import resolved, seed_everything
from sim2real.camera_stats import separability, stats_matrix
from sim2real.dataset import Manifest
from sim2real.errors import ConfigError
from sim2real.instantiate import make_trainer

log = logging.getLogger(__name__)
METRIC_KEYS = ("realism.c2st.sim", "realism.c2st.refined", "labels.preservation")


def work_dir_of(cfg: DictConfig) -> Path:
    return Path(cfg.work_dir) if cfg.get("work_dir") else Path(f"{Path(cfg.out_dir)}_refiner")


def resolve_ckpt(ckpt_path: str | None, work_dir: Path) -> Path | None:
    """``last`` -> ``<work_dir>/checkpoints/last.ckpt`` when it exists (else a fresh start)."""
    if not ckpt_path:
        return None
    if ckpt_path == "last":
        last = work_dir / "checkpoints" / "last.ckpt"
        if last.is_file():
            return last
        log.info("ckpt_path=last: no %s yet, starting from scratch", last)
        return None
    path = Path(ckpt_path)
    if not path.is_file():
        raise ConfigError(f"ckpt_path={ckpt_path}: no such checkpoint file")
    return path


def _is_rank_zero() -> bool:
    return int(os.environ.get("LOCAL_RANK", 0)) == 0 and int(os.environ.get("NODE_RANK", 0)) == 0


def _task_net(cfg: DictConfig, sim: SimData, trained: bool) -> TinySegmenter | None:
    t = cfg.refiner.task_net
    if not t.enabled:
        return None
    if trained:  # weights come from the checkpoint
        return TinySegmenter(sim.num_classes, t.width)
    return train_task_net(sim.images, sim.semantic, sim.num_classes, width=t.width, steps=t.steps, lr=t.lr,
                          batch_size=t.batch_size, crop=t.crop, augment=t.photometric_aug, seed=cfg.seed)


def _load_weights(module: RefinerModule, path: Path, name: str) -> None:
    try:  # weights only: a checkpoint a user hands over must not run code when loaded
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ConfigError(f"ckpt_path={path}: not a refiner checkpoint that loads as plain weights "
                          f"({str(exc).splitlines()[0][:200]})") from None
    if ckpt.get("refiner_name") not in (None, name):
        raise ConfigError(f"ckpt_path={path}: holds a {ckpt['refiner_name']!r} refiner, not refiner={name}")
    try:
        module.load_state_dict(ckpt["state_dict"])
    except RuntimeError as exc:
        raise ConfigError(f"ckpt_path={path}: does not fit refiner={name} with these sizes "
                          f"({str(exc).splitlines()[0]})") from exc
    module.on_load_checkpoint(ckpt)


def _train(cfg: DictConfig, module: RefinerModule, sim: SimData, real: list[np.ndarray], ckpt: Path | None,
           work_dir: Path) -> Any:
    data = cfg.data
    loader = torch.utils.data.DataLoader(
        CropPairs(sim, real, data.crop, length=max(len(sim.images), len(real), data.batch_size)),
        batch_size=data.batch_size, shuffle=True, drop_last=True, num_workers=data.num_workers,
        persistent_workers=data.num_workers > 0)
    logger = (tracking.lightning_logger(cfg.logger, config=resolved(cfg), job_type="refine", out_dir=work_dir)
              if _is_rank_zero() else False)
    ckpt_cb = StepCheckpoint(work_dir / "checkpoints", cfg.refiner.checkpoint_every_n_steps)
    bar = [StepsProgressBar()] if cfg.trainer.enable_progress_bar else []
    trainer = make_trainer(cfg.trainer, max_steps=-1, max_epochs=-1, logger=logger, callbacks=[ckpt_cb, *bar],
                           enable_checkpointing=False, default_root_dir=str(work_dir),
                           strategy=make_strategy(cfg.trainer), log_every_n_steps=min(cfg.trainer.log_every_n_steps, 50))
    trainer.fit(module, loader, ckpt_path=str(ckpt) if ckpt else None)
    return trainer


def evaluate(cfg: DictConfig, module: RefinerModule, sim: SimData, real: list[np.ndarray], out_dir: Path) -> dict:
    """The stage's metrics on the written refined set (see METRIC_KEYS, docs/refiner.md)."""
    m = cfg.refiner.metrics
    refined = read_refined(out_dir)
    kw = dict(size=m.c2st.size, steps=m.c2st.steps, width=m.c2st.width, folds=m.c2st.folds,
              max_images=m.c2st.max_images, seed=cfg.seed)
    metrics: dict[str, float] = {
        "realism.c2st.sim": c2st(real, sim.images, **kw),
        "realism.c2st.refined": c2st(real, refined, **kw),
    }
    # the same test on camera statistics alone (sim2real/camera_stats.py): blind to content
    real_stats = stats_matrix(real, 400, cfg.seed)
    for name, images in (("sim", sim.images), ("refined", refined)):
        metrics[f"realism.stats_c2st.{name}"] = separability(real_stats, stats_matrix(images, 400, cfg.seed),
                                                             seed=cfg.seed)
    task_net = module.model.task_net
    if task_net is not None:
        lp = label_preservation(task_net, sim.images, refined, sim.semantic, sim.num_classes)
        metrics.update({"labels.preservation": lp["preservation"], "labels.iou_sim": lp["iou_sim"],
                        "labels.iou_refined": lp["iou_refined"]})
        if not lp["iou_sim"] > 0:
            log.warning("label preservation not measured: the task net found no object on the renders "
                        "(IoU %s); more refiner.task_net.steps may help", lp["iou_sim"])
    else:
        metrics["labels.preservation"] = float("nan")
    if m.kid_weights:
        metrics["realism.kid.sim"] = kid(real, sim.images, weights=m.kid_weights, seed=cfg.seed)
        metrics["realism.kid.refined"] = kid(real, refined, weights=m.kid_weights, seed=cfg.seed)
    return metrics


def run(cfg: DictConfig) -> dict:
    """Train (or resume) a refiner, write the refined dataset, score it. Returns paths + metrics."""
    rc = cfg.refiner
    out_dir, work_dir = Path(cfg.out_dir), work_dir_of(cfg)
    max_steps = int(cfg.trainer.max_steps)
    if cfg.train and max_steps <= 0:
        raise ConfigError(f"trainer.max_steps must be > 0 for the refiner, got {max_steps}")
    replacing = check_outputs(cfg, out_dir, work_dir)
    seed_everything(cfg.seed)
    sim = load_sim(cfg.data.sim, grayscale=cfg.data.grayscale)
    short = int(np.median([min(im.shape[:2]) for im in sim.images])) if cfg.data.match_scale else None
    real, real_paths, skips = load_real(cfg.data.real, target_short=short, max_images=cfg.data.max_real,
                                        grayscale=cfg.data.grayscale)
    check_channels(sim, real_paths, str(cfg.data.real), grayscale=cfg.data.grayscale)
    if replacing and cfg.train:  # another config's checkpoints: start over, never resume or keep them
        log.info("%s: overwrite=true replaces a run of another config; training from scratch", work_dir)
        if _is_rank_zero():
            shutil.rmtree(work_dir / "checkpoints", ignore_errors=True)
    ckpt = resolve_ckpt(cfg.ckpt_path, work_dir)
    if not cfg.train and ckpt is None:
        raise ConfigError("train=false needs a checkpoint: set ckpt_path=<file> or ckpt_path=last")

    model = create_refiner(rc.name, **OmegaConf.to_container(rc, resolve=True, enum_to_str=True))
    if cfg.train and cfg.data.batch_size < model.min_batch_size:
        log.warning("refiner=%s matches batch statistics: data.batch_size=%d is too small, use at least %d (8 is "
                    "what docs/benchmarks.md measured)", rc.name, cfg.data.batch_size, model.min_batch_size)
    task_net = _task_net(cfg, sim, trained=ckpt is not None)
    if task_net is not None:
        model.attach_task_net(task_net)
    if cfg.trainer.compile:
        model.generator.compile()  # in place: state-dict keys unchanged
    channels_last = bool(cfg.trainer.channels_last)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    module = RefinerModule(model, max_steps=max_steps, channels_last=channels_last,
                           image_every=cfg.logger.log_images_every_n_steps, samples_dir=work_dir / "samples")
    checkpoint = ckpt
    module.last_good = str(ckpt) if ckpt else None
    key = record_run(cfg, work_dir) if _is_rank_zero() else run_key(cfg)
    if cfg.train:
        trainer = _train(cfg, module, sim, real, ckpt, work_dir)
        if not trainer.is_global_zero:
            return {}
        checkpoint = work_dir / "checkpoints" / "last.ckpt"
    else:
        _load_weights(module, ckpt, rc.name)
    model = module.model.cpu()
    device = "cuda" if cfg.trainer.accelerator == "gpu" and torch.cuda.is_available() else "cpu"
    provenance = {"checkpoint": str(checkpoint), "run_key": key, "inputs": run_config(cfg)["inputs"],
                  "refiner": rc.name, "steps": module.step, "real": str(cfg.data.real), "config": resolved(cfg)}
    apply_refiner(model, sim.dataset, out_dir, provenance=provenance, config=resolved(cfg.refiner),
                  batch_size=rc.apply_batch_size, overwrite=cfg.overwrite, grayscale=cfg.data.grayscale,
                  channels_last=channels_last, device=device)
    model.cpu()
    metrics: dict[str, float] = {"data.real_skipped": float(len(skips.skipped)), "train.steps": float(module.step)}
    metrics.update(model.learned_metrics())  # e.g. the camera refiner's effects
    if cfg.evaluate:
        metrics.update(evaluate(cfg, module, sim, real, out_dir))
    metrics = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in metrics.items()}  # strict JSON
    metrics_path = work_dir / "metrics.json"
    atomic.write_json(metrics_path, metrics, indent=2)
    manifest = Manifest.load(out_dir)
    manifest.provenance["metrics"] = metrics
    manifest.save(out_dir)
    tracking.log_metrics({f"refine/{k}": v for k, v in metrics.items() if v is not None})
    log.info("refiner metrics: %s", json.dumps({k: v if v is None else round(v, 4) for k, v in metrics.items()}))
    return {"out_dir": str(out_dir), "checkpoint": str(checkpoint), "work_dir": str(work_dir),
            "metrics_path": str(metrics_path), "metrics": metrics, "steps": module.step}
