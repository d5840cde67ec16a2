"""The objective of searches over the refiner: how well a detector trained on the refined set
does on a labelled real *validation* set (never the test split).

``sim2real-refine -m hparams_search=fgbg_optuna`` returns this number to the Optuna sweeper.
"""
from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig

from sim2real.errors import ConfigError

log = logging.getLogger(__name__)


def refined_val_map(cfg: DictConfig, refined_dir: str | Path) -> float:
    """Train the objective's quick detector on ``refined_dir``, return ``objective.metric`` on
    ``objective.val``."""
    from pipeline.run import q
    from pipeline.stages import compose_stage
    from train.run import run as train

    obj = cfg.objective
    if not obj.val:
        raise ConfigError("objective.val: a labelled real validation set is needed to score a refiner")
    out = Path(cfg.out_dir).with_name(Path(cfg.out_dir).name + "_objective")
    train_cfg = compose_stage("train", [
        f"data.train=[{q(refined_dir)}]", f"data.test={q(obj.val)}", f"out_dir={q(out)}",
        f"seed={cfg.seed}", "logger.mode=disabled", "plots=false", *obj.train_overrides,
    ])
    metrics = train(train_cfg)["metrics"]
    key = f"test/{obj.metric}"
    if key not in metrics:
        raise ConfigError(f"objective.metric: {obj.metric!r} is not among the detector's metrics")
    value = float(metrics[key])
    log.info("objective %s on %s: %.4f", obj.metric, obj.val, value)
    return value
