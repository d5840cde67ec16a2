"""One Lightning training phase: checkpoints, resume, early stopping on validation mAP.

Each phase checkpoints into ``<out_dir>/checkpoints/<phase>/`` (``last.ckpt`` every epoch, the
best by ``val/map50``) and writes ``done.json`` when it finishes, so ``ckpt_path=last`` resumes
an interrupted phase and skips a finished one (the finetune schedule has two phases).
"""
from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint
from torch.utils.data import DataLoader

from sim2real.errors import ConfigError, DatasetError
from sim2real.instantiate import make_trainer
from train.module import DetectorModule

log = logging.getLogger(__name__)


def global_rank() -> int:
    """This process's rank (0 outside DDP; Lightning's launcher sets the variables)."""
    for var in ("RANK", "GLOBAL_RANK", "LOCAL_RANK"):
        if var in os.environ:
            return int(os.environ[var])
    return 0


def phase_dir(out_dir: Path, phase: str) -> Path:
    return Path(out_dir) / "checkpoints" / phase


def clear_checkpoints(out_dir: Path) -> None:
    """A fresh run (no ``ckpt_path``) must not pick up an older run's checkpoints."""
    if global_rank() == 0:
        shutil.rmtree(Path(out_dir) / "checkpoints", ignore_errors=True)


def load_weights(module: DetectorModule, ckpt: Path) -> None:
    try:  # weights only: a checkpoint found in a folder must not run code when loaded
        state = torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]
    except Exception as exc:
        raise DatasetError(f"{ckpt}: not a detector checkpoint that loads as plain weights "
                           f"({str(exc).splitlines()[0][:200]})") from None
    module.load_state_dict(state)


def fit_phase(module: DetectorModule, phase: str, train: DataLoader | dict[str, DataLoader], val: DataLoader | None,
              *, cfg: Any, out_dir: Path, max_epochs: int, logger: Any, resume: str | None) -> Path | None:
    """Train ``module`` for one phase; return the checkpoint whose weights it ends with."""
    directory = phase_dir(out_dir, phase)
    done = directory / "done.json"
    if resume == "last" and done.is_file():
        best = Path(json.loads(done.read_text())["weights"])
        if directory.resolve() not in best.resolve().parents:
            raise DatasetError(f"{done}: names weights outside its phase folder ({best}); delete it to retrain")
        log.info("phase %s finished earlier; loading %s", phase, best)
        load_weights(module, best)
        return best
    monitor = cfg.early_stopping.monitor if val is not None else None
    checkpoint = ModelCheckpoint(dirpath=directory, filename="best", monitor=monitor, mode="max",
                                 save_top_k=1 if monitor else 0, auto_insert_metric_name=False)
    # last.ckpt every epoch, in its own callback: Lightning 2.6's save_last=True writes it only
    # in an epoch that also saved a best checkpoint, so a resume would restart from the best epoch
    last = ModelCheckpoint(dirpath=directory, filename="last", monitor=None, save_top_k=1, every_n_epochs=1,
                           enable_version_counter=False, auto_insert_metric_name=False)
    callbacks: list[Any] = [checkpoint, last]
    if monitor and cfg.early_stopping.patience is not None:
        # checked after each validation only: a phase that trainer.max_steps ends mid-epoch (before
        # any validation) would otherwise fail for want of val/map50
        callbacks.append(EarlyStopping(monitor=monitor, mode="max", patience=int(cfg.early_stopping.patience),
                                       min_delta=float(cfg.early_stopping.min_delta), check_on_train_epoch_end=False))
    trainer = make_trainer(cfg.trainer, max_epochs=max_epochs, callbacks=callbacks, logger=logger,
                           default_root_dir=str(out_dir), enable_checkpointing=True,
                           limit_val_batches=1.0 if val is not None else 0)
    ckpt_path = _resume_path(resume, directory)
    trainer.fit(module, train_dataloaders=train, val_dataloaders=val, ckpt_path=ckpt_path)
    best = Path(checkpoint.best_model_path) if checkpoint.best_model_path else None
    if best is None or not best.is_file():
        best = Path(last.best_model_path) if last.best_model_path else None
    if best is not None and best.is_file():
        load_weights(module, best)
    if trainer.is_global_zero and best is not None:
        done.write_text(json.dumps({"weights": str(best), "epochs": trainer.current_epoch,
                                    "best_score": _float(checkpoint.best_model_score)}))
    return best


def _resume_path(resume: str | None, directory: Path) -> str | None:
    if resume is None:
        return None
    if resume == "last":
        last = directory / "last.ckpt"
        return str(last) if last.is_file() else None
    if not Path(resume).is_file():
        raise ConfigError(f"ckpt_path: {resume} does not exist (use ckpt_path=last to resume from out_dir)")
    return resume


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
