"""What a refiner run may write over, decided before any work (see ``sim2real.guard``).

The refined set in ``out_dir`` carries the key of the config that made it (``run_key`` in its
provenance), ``work_dir/run.json`` the key and settings of the run whose checkpoints lie there.
A folder holding anything but a refined set (the renders, photos, other files) is never written
to; another config's outputs only with ``overwrite=true``.
"""
from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from sim2real import guard
from sim2real.app import resolved
from sim2real.dataset import Manifest, fingerprint
from sim2real.errors import ConfigError, DatasetError

# how a run executes, is tracked, or how long it trains (a resumed run may train on)
RUN_ONLY = ("logger", "ckpt_path", "overwrite", "evaluate", "objective", "work_dir", "num_threads", "train",
            "trainer.devices", "trainer.num_nodes", "trainer.strategy", "trainer.enable_progress_bar",
            "trainer.log_every_n_steps", "trainer.max_steps", "refiner.max_loss", "refiner.checkpoint_every_n_steps",
            "refiner.apply_batch_size")
HINT = "choose another out_dir or set overwrite=true"


def run_config(cfg: DictConfig) -> dict:
    return {**guard.run_config(resolved(cfg), RUN_ONLY), "inputs": guard.inputs([cfg.data.sim, cfg.data.real])}


def run_key(cfg: DictConfig) -> str:
    return fingerprint(run_config(cfg))


def check_outputs(cfg: DictConfig, out_dir: Path, work_dir: Path) -> bool:
    """Refuse, before any work, to write where another config's results, or other data, lie.
    True when ``overwrite=true`` replaces another config's run in ``work_dir`` (start over)."""
    config = run_config(cfg)
    for source in ("sim", "real"):
        if Path(cfg.data[source]).resolve() == out_dir.resolve():
            raise ConfigError(f"out_dir={out_dir} is data.{source}: the refiner never writes into its inputs")
    if (out_dir / "dataset.json").is_file():
        old = Manifest.load(out_dir)
        if old.kind != "refined":
            raise DatasetError(f"out_dir={out_dir}: holds a {old.kind} dataset, not a refined one; "
                               "choose another out_dir")
        if old.provenance.get("run_key") != fingerprint(config) and not cfg.overwrite:
            was = {**guard.run_config(old.provenance.get("config") or {}, RUN_ONLY),
                   "inputs": old.provenance.get("inputs")}
            raise DatasetError(f"out_dir={out_dir}: holds a refined set made with another config "
                               f"({guard.differences(was, config)}); {HINT}")
    elif out_dir.is_dir() and any(out_dir.iterdir()) and not cfg.overwrite:
        raise DatasetError(f"out_dir={out_dir}: holds files that are not a refined set; {HINT}")
    differs = guard.another_config(work_dir, config)
    if differs and not cfg.overwrite:
        what = "ckpt_path=last would resume" if cfg.ckpt_path == "last" else "this run would replace"
        raise ConfigError(f"{work_dir}: {what} a run of another config ({differs}); {HINT}")
    return differs is not None


def record_run(cfg: DictConfig, work_dir: Path) -> str:
    """Write ``work_dir/run.json``; returns the key."""
    return guard.record(work_dir, run_config(cfg))
