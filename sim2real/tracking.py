"""The one place that starts W&B runs. Offline by default; ``disabled`` in tests.

Every stage calls ``start_run``; Lightning stages wrap the same run in ``WandbLogger`` via
``lightning_logger``, so the resolved Hydra config is logged once, in one run.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from sim2real.errors import ConfigError

log = logging.getLogger(__name__)
MODES = ("offline", "online", "disabled")


def start_run(logger_cfg: DictConfig | dict, *, config: dict, job_type: str, out_dir: Path | str,
              name: str | None = None, group: str | None = None) -> Any:
    """Start (or return the active) W&B run for this process; ``None`` when disabled."""
    mode = str(logger_cfg.get("mode") or "offline")
    if mode not in MODES:
        raise ConfigError(f"logger.mode must be one of {MODES}, got {mode!r}")
    if mode == "disabled":
        return None
    import wandb

    if wandb.run is not None:
        return wandb.run
    run_dir = Path(logger_cfg.get("dir") or out_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("WANDB_SILENT", "true")
    return wandb.init(
        project=logger_cfg.get("project") or "sim2real",
        entity=logger_cfg.get("entity"),
        group=group or logger_cfg.get("group"),
        name=name or logger_cfg.get("name"),
        tags=list(logger_cfg.get("tags") or []),
        job_type=job_type,
        mode=mode,
        dir=str(run_dir),
        config=config,
        reinit="finish_previous",
    )


def lightning_logger(logger_cfg: DictConfig | dict, *, config: dict, job_type: str, out_dir: Path | str,
                     name: str | None = None, group: str | None = None) -> Any:
    """A Lightning ``WandbLogger`` around ``start_run``'s run, or ``False`` when disabled."""
    run = start_run(logger_cfg, config=config, job_type=job_type, out_dir=out_dir, name=name, group=group)
    if run is None:
        return False
    from pytorch_lightning.loggers import WandbLogger

    return WandbLogger(experiment=run, log_model=False)


def log_metrics(metrics: dict, *, step: int | None = None) -> None:
    """Log to the active run, if any (no-op when tracking is disabled)."""
    import wandb

    if wandb.run is not None:
        wandb.run.log(metrics, step=step)


def finish() -> None:
    import wandb

    if wandb.run is not None:
        wandb.run.finish()


def log_lineage(logger_cfg: DictConfig | dict, *, stage: str, group: str, out_dir: Path | str,
                inputs: dict[str, Path | str], outputs: dict[str, Path | str]) -> None:
    """One short W&B run per pipeline stage that logs its outputs as artifacts (by reference:
    nothing is copied) and uses its inputs, so the group shows the lineage render -> refine ->
    train. W&B cannot ``use_artifact`` offline, so offline runs record the input artifact names
    in their config instead."""
    mode = str(logger_cfg.get("mode") or "offline")
    if mode == "disabled":
        return
    import wandb

    finish()
    run = start_run(logger_cfg, config={"stage": stage, "inputs": sorted(inputs)}, job_type=stage,
                    out_dir=out_dir, name=f"{group}-{stage}", group=group)
    try:
        if mode == "online":
            for name in inputs:
                run.use_artifact(f"{name}:latest")
        for name, path in outputs.items():
            art = wandb.Artifact(name, type="dataset" if stage != "train" else "model")
            art.add_reference(Path(path).resolve().as_uri(), checksum=False)
            run.log_artifact(art)
    finally:
        finish()
