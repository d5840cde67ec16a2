"""What every command's entry point shares: clean one-line errors, resolved config, seeding."""
from __future__ import annotations

import functools
import logging
import os
import random
import sys
from typing import Any, Callable

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from sim2real.errors import ConfigError, Sim2RealError

log = logging.getLogger("sim2real")

# The Hydra config tree ships inside the package (sim2real/conf/), so a wheel has it too.
CONF_DIR = str(Path(__file__).resolve().parent / "conf")


def guarded(fn: Callable[[DictConfig], Any]) -> Callable[[DictConfig], Any]:
    """Turn a ``Sim2RealError`` (bad input, bad config) into a one-line error and exit code 2."""

    @functools.wraps(fn)
    def wrapper(cfg: DictConfig) -> Any:
        try:
            check_resolves(cfg)
            return fn(cfg)
        except Sim2RealError as exc:
            log.error("%s", exc)
            print(f"error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None

    return wrapper


def check_resolves(cfg: DictConfig) -> None:
    """Resolve every interpolation now, so that a value from the environment that its key refuses
    (``WANDB_MODE=bogus`` for ``logger.mode``), or a required key left unset (``ckpt=``), fails
    before any work, naming the key."""
    from omegaconf.errors import OmegaConfBaseException

    try:
        OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None)
        raise ConfigError((f"{key}: " if key else "") + str(exc).splitlines()[0]) from None


def job_out_dir(cfg: DictConfig) -> None:
    """In a ``-m`` sweep every job gets its own ``out_dir/<job number>`` (else they would
    collide, the last job's output replacing the others'); each job's metrics record its config."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    per_job = "${hydra:" in str(OmegaConf.to_container(cfg, resolve=False).get("out_dir"))  # already one per job
    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN and not per_job:
        cfg.out_dir = f"{cfg.out_dir}/{HydraConfig.get().job.num}"


def resolved(cfg: DictConfig) -> dict:
    """The config as a plain dict with interpolations resolved (for manifests and W&B)."""
    return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False, enum_to_str=True)  # type: ignore[return-value]


def seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def not_implemented(stage: str) -> None:
    print(f"error: the {stage} stage is not implemented yet", file=sys.stderr)
    raise SystemExit(3)
