"""Self-contained detector checkpoints.

Every ``best.ckpt`` / ``last.ckpt`` a training phase writes carries, in Lightning's
``hyper_parameters["detector"]``, what rebuilds the detector with no config: its registry name,
its classes (label k+1 is ``classes[k]``), input size, anchor sizes and builder keywords.
``load_detector(path)`` takes such a file, or a detector run's ``out_dir`` (its final phase's
checkpoint, from ``metrics.json``), and loads it with ``weights_only=True``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from sim2real.errors import ConfigError


def anchor_sizes(model: nn.Module) -> list[list[int]] | None:
    """The anchor sizes ``model`` was built with (None for anchor-free detectors)."""
    owner = model.rpn if hasattr(model, "rpn") else model
    gen = getattr(owner, "anchor_generator", None)
    sizes = getattr(gen, "sizes", None)
    return [[int(s) for s in level] for level in sizes] if sizes else None


def detector_spec(name: str, classes: Sequence[str], image_size: int, model: nn.Module, kwargs: dict) -> dict:
    """What a checkpoint records to rebuild ``model`` (plain types only: loads with weights_only)."""
    from train.detectors import info

    return {"name": name, "classes": [str(c) for c in classes], "image_size": int(image_size),
            "anchor_sizes": anchor_sizes(model) if info(name, "adapt_anchors") else None,
            "kwargs": json.loads(json.dumps(kwargs))}


@dataclass
class LoadedDetector:
    """A trained detector in eval mode and what it detects."""

    model: nn.Module
    name: str
    classes: list[str]
    image_size: int
    path: Path


def checkpoint_of(path: str | Path) -> Path:
    """``path`` itself when a file; for a detector run's folder, its final phase's checkpoint."""
    path = Path(path).expanduser()
    if path.is_file():
        return path
    metrics = path / "metrics.json"
    if path.is_dir() and metrics.is_file():
        phases = json.loads(metrics.read_text()).get("_run", {}).get("checkpoints") or {}
        last = [p for p in phases.values() if p]
        if last and Path(last[-1]).is_file():
            return Path(last[-1])
        raise ConfigError(f"ckpt={path}: its metrics.json names no checkpoint that exists ({phases})")
    raise ConfigError(f"ckpt={path}: neither a checkpoint file nor a detector run's out_dir (no metrics.json)")


def load_detector(path: str | Path, *, device: str = "cpu") -> LoadedDetector:
    """Rebuild the detector a checkpoint (or a detector run's folder) holds; no config needed."""
    from train.detectors import create

    file = checkpoint_of(path)
    try:
        ckpt = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ConfigError(f"ckpt={file}: not a detector checkpoint that loads as plain weights "
                          f"({str(exc).splitlines()[0][:200]})") from None
    spec = (ckpt.get("hyper_parameters") or {}).get("detector") if isinstance(ckpt, dict) else None
    if not spec:
        raise ConfigError(f"ckpt={file}: records no detector (made before checkpoints carried one; "
                          "train it again, or use sim2real-train init=)")
    model = create(spec["name"], len(spec["classes"]), spec["image_size"],
                   anchor_sizes=spec.get("anchor_sizes"), **(spec.get("kwargs") or {}))
    state = {k.removeprefix("model."): v for k, v in ckpt["state_dict"].items() if k.startswith("model.")}
    model.load_state_dict(state)
    return LoadedDetector(model.eval().to(device), spec["name"], list(spec["classes"]), int(spec["image_size"]), file)
