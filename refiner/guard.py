"""What a refiner run may write over, decided before any work.

A run's outputs (the refined set in ``out_dir``, checkpoints and metrics in ``work_dir``)
carry the fingerprint of the config that made them (``work_dir/run.json``, and ``run_key`` in
the refined set's provenance). Running again with the same config resumes or reuses them; a
different config is refused, saying which keys differ, unless ``overwrite=true``. A folder
holding anything but a refined set (the renders, photos, any other files) is never written to.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from sim2real import atomic
from sim2real.app import resolved
from sim2real.dataset import Manifest, fingerprint
from sim2real.errors import ConfigError, DatasetError

RUN_FILE = "run.json"
# settings that change how a run executes, is tracked or how long it trains (a resumed run may
# train on), not what it makes
RUN_ONLY = ("logger", "ckpt_path", "overwrite", "evaluate", "objective", "work_dir", "num_threads", "train",
            "trainer.devices", "trainer.num_nodes", "trainer.strategy", "trainer.enable_progress_bar",
            "trainer.log_every_n_steps", "trainer.max_steps", "refiner.max_loss", "refiner.checkpoint_every_n_steps",
            "refiner.apply_batch_size")


def run_config(cfg: DictConfig) -> dict:
    return run_config_of(resolved(cfg))


def run_key(cfg: DictConfig) -> str:
    return fingerprint(run_config(cfg))


def differences(old: dict, new: dict, limit: int = 4) -> str:
    """``key: old -> new`` for the first ``limit`` differing leaves of two nested configs."""
    flat_old, flat_new = _flatten(old), _flatten(new)
    keys = sorted(k for k in flat_old.keys() | flat_new.keys() if flat_old.get(k, "<unset>") != flat_new.get(k, "<unset>"))
    shown = [f"{k}: {flat_old.get(k, '<unset>')} -> {flat_new.get(k, '<unset>')}" for k in keys[:limit]]
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return "; ".join(shown) + more if shown else "no recorded config"


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(d, dict):
        return {prefix: d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def check_outputs(cfg: DictConfig, out_dir: Path, work_dir: Path) -> None:
    """Refuse, before any work, to write where another config's results, or other data, lie."""
    config, key = run_config(cfg), run_key(cfg)
    hint = "choose another out_dir or set overwrite=true"
    for source in ("sim", "real"):
        if Path(cfg.data[source]).resolve() == out_dir.resolve():
            raise ConfigError(f"out_dir={out_dir} is data.{source}: the refiner never writes into its inputs")
    if (out_dir / "dataset.json").is_file():
        old = Manifest.load(out_dir)
        if old.kind != "refined":
            raise DatasetError(f"out_dir={out_dir}: holds a {old.kind} dataset, not a refined one; choose another out_dir")
        if old.provenance.get("run_key") != key and not cfg.overwrite:
            was = old.provenance.get("config") or {}
            raise DatasetError(f"out_dir={out_dir}: holds a refined set made with another config "
                               f"({differences(run_config_of(was), config)}); {hint}")
    elif out_dir.is_dir() and any(out_dir.iterdir()) and not cfg.overwrite:
        raise DatasetError(f"out_dir={out_dir}: holds files that are not a refined set; {hint}")
    record = work_dir / RUN_FILE
    if record.is_file() and not cfg.overwrite:
        old = json.loads(record.read_text())
        if old.get("key") != key:
            what = "ckpt_path=last would resume" if cfg.ckpt_path == "last" else "this run would replace"
            raise ConfigError(f"{work_dir}: {what} a run of another config ({differences(old.get('config', {}), config)}); "
                              f"{hint}")


def run_config_of(recorded: dict) -> dict:
    """The part of a (recorded, whole) config that decides what a run makes."""
    config = json.loads(json.dumps(recorded))
    for key in RUN_ONLY:
        *parents, leaf = key.split(".")
        node = config
        for p in parents:
            node = node.get(p) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(leaf, None)
    return config


def record_run(cfg: DictConfig, work_dir: Path) -> str:
    """Write ``work_dir/run.json`` (the key and the config); returns the key."""
    key = run_key(cfg)
    atomic.write_json(work_dir / RUN_FILE, {"key": key, "config": run_config(cfg)}, indent=2)
    return key
