"""``run(cfg) -> dict``: what ``sim2real-train`` does, callable in-process by the pipeline.

Reads the data plan, builds the detector, trains it (``schedule=merged``: one run on the mix;
``schedule=finetune``: synthetic first, then the real split), evaluates on ``data.test``,
computes slice metrics, draws the plots, writes ``metrics.json`` and logs everything to W&B.
With ``slices.assert=true`` a slice below its threshold raises ``SliceCheckFailed`` after the
table of failing slices is printed (the CLI exits non-zero).
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig

from sim2real import guard
from sim2real.app import resolved, seed_everything
from sim2real.errors import ConfigError, Sim2RealError
from sim2real.tracking import finish, lightning_logger
from train import plots, report
from train import align as domain_align
from train import camera_augment
from train.augment import DetectionAugment
from train.camera_augment import CameraAugment, load_camera
from train.data import DetectionDataset, eval_loader, train_loader
from train.checkpoint import detector_spec
from train.detectors import create as create_detector, needs_masks
from train.evaluate import coco_metrics, predict, prefixed
from train.fit import clear_checkpoints, fit_phase, global_rank
from train.module import DetectorModule
from train.plan import DataPlan, Part, build_plan
from train.pseudo import check as check_pseudo
from train.pseudo import pseudo_part, phase_weights, unlabelled_records
from train.slices import SliceReport, compute_slices
from train.sources import box_sizes

log = logging.getLogger(__name__)

SCHEDULES = ("merged", "finetune")
DEFAULT_EPOCHS = 10  # a phase's epochs when trainer.max_epochs is null
LR_SCHEDULES = ("cosine", "constant")


class SliceCheckFailed(Sim2RealError):
    """``slices.assert=true`` and at least one slice scored below its threshold."""


def _check(cfg: Any) -> None:
    if cfg.schedule not in SCHEDULES:
        raise ConfigError(f"schedule must be one of {SCHEDULES}, got {cfg.schedule!r}")
    if cfg.detector.lr_schedule not in LR_SCHEDULES:
        raise ConfigError(f"detector.lr_schedule must be one of {LR_SCHEDULES}, got {cfg.detector.lr_schedule!r}")
    if not 0.0 <= cfg.data.val_fraction < 1.0:
        raise ConfigError(f"data.val_fraction must lie in [0, 1), got {cfg.data.val_fraction}")
    check_pseudo(cfg)
    domain_align.check(cfg)
    camera_augment.check(cfg)
    if not 0.0 <= cfg.finetune.synthetic_share < 1.0:
        raise ConfigError(f"finetune.synthetic_share must lie in [0, 1), got {cfg.finetune.synthetic_share}")
    if cfg.finetune.cycles < 1:
        raise ConfigError(f"finetune.cycles must be at least 1, got {cfg.finetune.cycles}")
    if cfg.init and cfg.schedule != "finetune":
        raise ConfigError(f"init={cfg.init} needs schedule=finetune (it replaces the synthetic phase)")
    if cfg.init and not Path(cfg.init).is_file():
        raise ConfigError(f"init: {cfg.init} does not exist")
    if cfg.slices.enabled and cfg.slices.metric not in ("map50", "map", "map75", "mar_100"):
        raise ConfigError(f"slices.metric must be map50, map, map75 or mar_100, got {cfg.slices.metric!r}")


def _phases(cfg: Any, plan: DataPlan) -> list[tuple[str, list[Part], int, float, list[float] | None]]:
    """(name, parts, epochs, lr scale, sampling weights or None) per training phase."""
    epochs = int(cfg.trainer.max_epochs if cfg.trainer.max_epochs is not None else DEFAULT_EPOCHS)
    if cfg.schedule == "merged":
        phases = [("merged", plan.parts("all"), epochs, 1.0, _part_weights(plan.parts("all")))]
    else:
        share = float(cfg.finetune.synthetic_share)
        real, synthetic = plan.parts("real"), plan.parts("synthetic")
        if share > 0 and real and synthetic:  # keep drawing some renders while fine-tuning
            parts = synthetic + real
            weights = [share / len(synthetic)] * len(synthetic) + [1.0 - share]
        else:
            parts, weights = real, None
        finetune = [(finetune_phase(c), parts, int(cfg.finetune.max_epochs), float(cfg.finetune.lr_scale), weights)
                    for c in range(int(cfg.finetune.cycles))]
        synthetic_phase = ("synthetic", synthetic, epochs, 1.0, _part_weights(synthetic))
        phases = finetune if cfg.init else [synthetic_phase, *finetune]
    return [s for s in phases if s[1]]


def finetune_phase(cycle: int) -> str:
    """The name (and checkpoint folder) of fine-tuning cycle ``cycle`` (0-based)."""
    return "finetune" if cycle == 0 else f"finetune{cycle + 1}"


def _part_weights(parts: list[Part]) -> list[float] | None:
    weights = [p.weight for p in parts]
    return None if all(w is None for w in weights) else [w if w is not None else 1.0 for w in weights]


def _loaders(cfg: Any, plan: DataPlan, parts: list[Part], weights: list[float] | None, masks: bool):
    camera = renders_camera(cfg)
    train_sets = [DetectionDataset(p.train, plan.classes, with_masks=masks,
                                   transform=camera if any(p is s for s in plan.synthetic) else None) for p in parts]
    train = train_loader(train_sets, weights, batch_size=cfg.data.batch_size, num_workers=cfg.data.num_workers,
                         seed=cfg.seed, epoch_size=cfg.data.epoch_size)
    val_samples = [s for p in parts for s in p.val]
    val = eval_loader(DetectionDataset(val_samples, plan.classes, with_masks=False, scoring=True),
                      batch_size=cfg.data.eval_batch_size) if val_samples else None
    return train, val


def renders_camera(cfg: Any) -> CameraAugment | None:
    """``data.augment.camera``: the learned camera the renders' parts are read through, if any."""
    a = cfg.data.augment
    return CameraAugment(load_camera(a.camera), a.camera_p) if a.enabled and a.camera else None


def _module(cfg: Any, model: torch.nn.Module, lr_scale: float, spec: dict,
            align: domain_align.DomainAlign | None = None) -> DetectorModule:
    return DetectorModule(model, optimizer=dict(cfg.detector.optimizer), lr_scale=lr_scale,
                          warmup_steps=cfg.detector.warmup_steps, lr_schedule=cfg.detector.lr_schedule,
                          channels_last=bool(cfg.trainer.channels_last),
                          augment=DetectionAugment(cfg.data.augment) if cfg.data.augment.enabled else None,
                          detector=spec, align=align)


def tested_photos(plan: DataPlan) -> set[Path]:
    """The photos of every test set (resolved): never pseudo-labelled, never aligned with."""
    return {Path(s.record.image_path).resolve() for src in [plan.test, *plan.extra_tests.values()] if src
            for s in src.samples}


def _aligned(cfg: Any, plan: DataPlan, name: str, parts: list[Part], model: torch.nn.Module, train: Any):
    """``align.source`` in a phase on renders: the domain classifier, and the loaders as one dict."""
    if not cfg.align.source or name not in domain_align.PHASES or all(p.real for p in parts):
        return None, train
    batch = int(cfg.align.batch_size or cfg.data.batch_size)
    photos = domain_align.photo_loader(cfg.align.source, tested_photos(plan), plan.classes, batch_size=batch,
                                       num_samples=len(train) * batch, seed=int(cfg.seed))
    log.info("align: phase %s aligns the features of its renders with %d photos of %s (weight %s)", name,
             len(photos.dataset), cfg.align.source, cfg.align.weight)
    return domain_align.DomainAlign(domain_align.fpn_channels(model), weight=float(cfg.align.weight)), \
        {"renders": train, "photos": photos}


def detector_spec_of(cfg: Any, plan: DataPlan, model: torch.nn.Module) -> dict:
    return detector_spec(cfg.detector.name, plan.classes, plan.image_size, model, dict(cfg.detector.kwargs))


def self_train(cfg: Any, plan: DataPlan, model: torch.nn.Module, masks: bool, *, out_dir: Path, logger: Any,
               resume: str | None, trained: dict) -> tuple[torch.nn.Module, list[dict]]:
    """``pseudo.rounds`` phases on the labelled parts plus the photos the detector itself labels."""
    p = cfg.pseudo
    labelled = {Path(s.record.image_path).resolve() for part in plan.parts("all") for s in part.train + part.val}
    records = unlabelled_records(p.source, labelled | tested_photos(plan))
    device = "cuda" if cfg.trainer.accelerator == "gpu" and torch.cuda.is_available() else "cpu"
    stats = []
    for r in range(int(p.rounds)):
        part, info = pseudo_part(model, records, plan.classes, threshold=float(p.threshold),
                                 batch_size=cfg.data.eval_batch_size, device=device, name=f"pseudo{r + 1}")
        stats.append(info)
        if not part.train:
            log.warning("self-training: no photo of %s got a box at score >= %s; phase skipped", p.source, p.threshold)
            break
        parts, weights = phase_weights(plan.parts("all"), part, pseudo_share=float(p.share),
                                       synthetic_share=float(cfg.finetune.synthetic_share))
        module = _module(cfg, model, float(p.lr_scale), detector_spec_of(cfg, plan, model))
        train, val = _loaders(cfg, plan, parts, weights, masks)
        best = fit_phase(module, f"pseudo{r + 1}", train, val, cfg=cfg, out_dir=out_dir, max_epochs=int(p.max_epochs),
                         logger=logger, resume=resume)
        trained[f"pseudo{r + 1}"] = str(best) if best else None
        model = module.model
    return model, stats


# how a run executes, is tracked, or how long it trains (a resumed run may train on)
RUN_ONLY = ("logger", "ckpt_path", "overwrite", "num_threads", "plots", "num_plot_images", "data.eval_batch_size",
            "data.num_workers", "trainer.devices", "trainer.num_nodes", "trainer.strategy",
            "trainer.enable_progress_bar", "trainer.log_every_n_steps", "trainer.max_epochs", "trainer.max_steps")


def run(cfg: DictConfig) -> dict:
    """Train and evaluate one detector; return paths and metrics (see module docstring)."""
    started = time.time()
    _check(cfg)
    if cfg.num_threads:
        torch.set_num_threads(int(cfg.num_threads))
    seed_everything(int(cfg.seed))
    plan = build_plan(cfg)  # bad data fails here, before out_dir (and its checkpoints) is touched
    out_dir = Path(cfg.out_dir)
    resume = cfg.ckpt_path
    config = {**guard.run_config(resolved(cfg), RUN_ONLY), "inputs": guard.inputs(guard.train_inputs(cfg.data))}
    differs = guard.another_config(out_dir, config)
    if differs and not cfg.overwrite:
        what = "ckpt_path=last would resume" if resume == "last" else "this run would replace"
        raise ConfigError(f"out_dir={out_dir}: {what} a run of another config ({differs}); "
                          "choose another out_dir or set overwrite=true")
    if differs:  # overwrite=true: another config's checkpoints are never resumed
        resume = None
    out_dir.mkdir(parents=True, exist_ok=True)
    if resume is None:
        clear_checkpoints(out_dir)
    if global_rank() == 0:
        guard.record(out_dir, config)
    masks = needs_masks(cfg.detector.name)
    # with init, the anchors must be those the init detector was trained with (its synthetic data)
    sizes = box_sizes([s for p in plan.parts("synthetic" if cfg.init else "all") for s in p.train])
    model = create_detector(cfg.detector.name, len(plan.classes), plan.image_size,
                            weights=cfg.init or cfg.detector.weights, weights_backbone=cfg.detector.weights_backbone,
                            download=bool(cfg.detector.download),
                            anchor_sizes=cfg.detector.anchor_sizes, box_sizes=sizes if len(sizes) else None,
                            **dict(cfg.detector.kwargs))
    rank = global_rank()
    owns_run = _no_active_tracking_run()
    logger = lightning_logger(cfg.logger, config=resolved(cfg), job_type="train", out_dir=out_dir) if rank == 0 else False
    phases = _phases(cfg, plan)
    if not phases and not cfg.pseudo.source:
        log.warning("no training images (data.train empty and no real fraction): evaluating the %s detector",
                    "init" if cfg.init else "untrained")
    module = None
    trained_epochs: dict[str, Any] = {}
    for name, parts, epochs, lr_scale, weights in phases:
        train, val = _loaders(cfg, plan, parts, weights, masks)
        align, train = _aligned(cfg, plan, name, parts, model, train)
        module = _module(cfg, model, lr_scale, detector_spec_of(cfg, plan, model), align)
        best = fit_phase(module, name, train, val, cfg=cfg, out_dir=out_dir, max_epochs=epochs,
                         logger=logger, resume=resume)
        trained_epochs[name] = str(best) if best else None
        model = module.model
        if resume not in (None, "last"):
            resume = None  # an explicit checkpoint belongs to the first phase only
    pseudo_stats = []
    if cfg.pseudo.source:
        model, pseudo_stats = self_train(cfg, plan, model, masks, out_dir=out_dir, logger=logger, resume=resume,
                                         trained=trained_epochs)
    train_seconds = time.time() - started
    if rank != 0:
        return {"out_dir": str(out_dir), "rank": rank}
    result = evaluate_and_report(cfg, plan, model, out_dir, info={
        "data": plan.summary(), "detector": cfg.detector.name, "schedule": cfg.schedule,
        "real_fraction": float(cfg.data.real_fraction), "train_sources": [p.name for p in plan.synthetic],
        "init": cfg.init, "pseudo": pseudo_stats,
        "checkpoints": trained_epochs, "train_seconds": round(train_seconds, 1)})
    if owns_run:  # a caller's (the pipeline's) W&B run is left open
        finish()
    if cfg.slices.enabled and cfg.slices["assert"] and result["failing_slices"]:
        raise SliceCheckFailed(f"{len(result['failing_slices'])} slice(s) below their {cfg.slices.metric} threshold: "
                               + ", ".join(result["failing_slices"]) + f" (table above; {out_dir}/slices.png)")
    return result


def evaluate_and_report(cfg: Any, plan: DataPlan, model: torch.nn.Module, out_dir: Path, *, info: dict) -> dict:
    """Test metrics, slices, plots, metrics.json, W&B; the dict ``run`` returns."""
    metrics: dict[str, Any] = {}
    plot_paths: dict[str, Path] = {}
    slice_report: SliceReport | None = None
    device = "cuda" if cfg.trainer.accelerator == "gpu" and torch.cuda.is_available() else "cpu"
    for part_name, samples, prefix in _eval_sets(plan):
        data = DetectionDataset(samples, plan.classes, scoring=True)
        preds = predict(model, eval_loader(data, batch_size=cfg.data.eval_batch_size), device=device, progress=True)
        targets = [data.target(i, 0, 0) for i in range(len(data))]
        full = coco_metrics(preds, targets, plan.classes, pr_curves=True)
        metrics.update(prefixed(full, prefix))
        metrics[f"{prefix}/images"] = len(samples)
        if prefix != "test":
            continue
        if cfg.slices.enabled:
            slice_report = compute_slices(samples, preds, targets, plan.classes, cfg.slices)
            metrics.update(slice_report.flat(f"{prefix}/slice"))
        if cfg.plots:
            plot_paths["pr_curves"] = plots.pr_curves(full["_pr"], full, out_dir / "pr_curves.png")
            n = min(cfg.num_plot_images, len(samples))
            plot_paths["predictions"] = plots.prediction_grid(
                [s.record.image_path for s in samples[:n]], preds[:n], targets[:n], plan.classes,
                out_dir / "predictions.png", score_threshold=cfg.detector.score_threshold)
            if slice_report is not None:
                plot_paths["slices"] = plots.slice_table(slice_report, out_dir / "slices.png")
    if slice_report is not None and slice_report.results:
        report.print_table(report.slice_console_table(slice_report))
        if slice_report.failing:
            report.print_table(report.slice_console_table(slice_report, only_failing=True))
    metrics_path = report.write_metrics(out_dir, metrics, info)
    report.log_to_tracking(metrics, plot_paths, slice_report)
    headline = {k: metrics.get(k) for k in ("test/map50", "test/map") if k in metrics}
    log.info("detector %s: %s (%s)", cfg.detector.name, headline, metrics_path)
    return {
        "out_dir": str(out_dir),
        "metrics": metrics,
        "metrics_path": str(metrics_path),
        "plots": {k: str(v) for k, v in plot_paths.items()},
        "slices": slice_report.rows() if slice_report else [],
        "failing_slices": [r.label for r in slice_report.failing] if slice_report else [],
        "classes": plan.classes,
        "info": info,
    }


def _no_active_tracking_run() -> bool:
    import wandb

    return wandb.run is None


def _eval_sets(plan: DataPlan):
    """The test set (``test/``) and, for reference, the held-out validation split (``val/``)."""
    val = [s for p in plan.synthetic + ([plan.real] if plan.real else []) for s in p.val]
    if val:
        yield "val", val, "val"
    if plan.test is not None:
        yield "test", plan.test.samples, "test"
    for prefix, source in plan.extra_tests.items():
        yield prefix, source.samples, prefix
