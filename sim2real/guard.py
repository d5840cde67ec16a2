"""Which config made a stage's outputs, and whether this run may touch them.

A stage records ``<folder>/run.json``: the fingerprint (and the settings) of the config that
decides what it makes, without the settings of how it runs (``run_only``: logging, devices,
the resume switch, how long it trains, so that a resumed run may train on). Running again
with the same config resumes or reuses; another config is refused before any work, saying
which keys differ, unless ``overwrite=true``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from sim2real import atomic
from sim2real.dataset import fingerprint

RUN_FILE = "run.json"


def run_config(config: dict, run_only: Sequence[str]) -> dict:
    """``config`` without the dotted ``run_only`` keys."""
    config = json.loads(json.dumps(config, default=str))
    for key in run_only:
        *parents, leaf = key.split(".")
        node: Any = config
        for p in parents:
            node = node.get(p) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(leaf, None)
    return config


def differences(old: dict, new: dict, limit: int = 4) -> str:
    """``key: old -> new`` for the first ``limit`` differing leaves of two nested configs."""
    flat_old, flat_new = _flatten(old), _flatten(new)
    keys = sorted(k for k in flat_old.keys() | flat_new.keys()
                  if flat_old.get(k, "<unset>") != flat_new.get(k, "<unset>"))
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


def recorded(folder: Path) -> dict | None:
    """The ``run.json`` of ``folder``, or None."""
    path = Path(folder) / RUN_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def another_config(folder: Path, config: dict) -> str | None:
    """What differs when ``folder`` records a run of another config than ``config``; else None.

    Checkpoints in ``folder/checkpoints`` with no ``run.json`` (a run of an older version, which
    did not record one) count as another config: nothing says what made them."""
    old = recorded(folder)
    if old is None:
        leftovers = Path(folder) / "checkpoints"
        if leftovers.is_dir() and any(leftovers.rglob("*.ckpt")):
            return f"checkpoints in {leftovers} but no {RUN_FILE} says which config made them"
        return None
    if old.get("key") == fingerprint(config):
        return None
    return differences(old.get("config", {}), config)


def inputs(paths) -> dict[str, str | None]:
    """The manifest fingerprint of each dataset folder in ``paths`` (None for a plain folder):
    the same path holding other data (a refined set made again) is another input."""
    out = {}
    for path in (p for p in paths if p):
        manifest = Path(path) / "dataset.json"
        out[str(path)] = json.loads(manifest.read_text()).get("fingerprint") if manifest.is_file() else None
    return out


def train_inputs(data) -> list[str]:
    """The dataset folders a detector run reads (``data.train``, ``data.real_train``, ``data.test``)."""
    train = [data.train] if isinstance(data.train, str) else list(data.train or [])
    return [*train, data.real_train, data.test]


def record(folder: Path, config: dict) -> str:
    """Write ``folder/run.json``; returns the key."""
    key = fingerprint(config)
    atomic.write_json(Path(folder) / RUN_FILE, {"key": key, "config": config}, indent=2)
    return key
