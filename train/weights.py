"""Detector weights: a local state-dict file, or one of torchvision's weight names.

``detector.weights`` (the whole detector) and ``detector.weights_backbone`` (its backbone body)
take a file path or a torchvision name for the detector's builder: ``DEFAULT``, ``COCO_V1``
(whole detector), ``IMAGENET1K_V1`` (backbone), ... A name is read from the torch hub cache
(``$TORCH_HOME/hub/checkpoints/``, where torchvision itself keeps it); it is downloaded only
with ``detector.download=true``. Tensors whose name and shape match are loaded; the rest (a
class head of another number of classes) keep their fresh initialisation, and the log lists them.
Every file is loaded with ``weights_only=True``.
"""
from __future__ import annotations

import inspect
import logging
import typing
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlparse

import torch
from torch import nn

from sim2real.errors import ConfigError

log = logging.getLogger(__name__)


def weights_enum(builder: Callable[..., nn.Module], *, backbone: bool) -> Any:
    """torchvision's weights enum of ``builder`` (``backbone``: of its ``weights_backbone``)."""
    from torchvision.models import WeightsEnum, get_model_weights

    if not backbone:
        return get_model_weights(builder)
    param = inspect.signature(builder).parameters["weights_backbone"]
    if isinstance(param.default, WeightsEnum):
        return type(param.default)
    for arg in typing.get_args(param.annotation):
        if isinstance(arg, type) and issubclass(arg, WeightsEnum):
            return arg
    raise ConfigError(f"{builder.__name__}: no torchvision backbone weights known")


def is_weights_name(value: str) -> bool:
    return value.replace("_", "").isalnum() and value.upper() == value and not Path(value).exists()


def resolve(value: str, builder: Callable[..., nn.Module] | None, *, backbone: bool, download: bool,
            key: str, detector: str) -> Path:
    """The local file ``value`` names: itself, or a torchvision weights name's hub-cache file."""
    if not is_weights_name(value):
        return Path(value).expanduser()
    if builder is None:
        raise ConfigError(f"{key}={value}: {detector} is not a torchvision detector, so it has no named weights; "
                          "give a local state-dict file")
    enum = weights_enum(builder, backbone=backbone)
    if value not in enum.__members__:
        raise ConfigError(f"{key}={value}: not a file, nor one of {detector}'s weights {sorted(enum.__members__)}")
    url = enum[value].url
    file = Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(url).path).name
    if file.is_file():
        return file
    if not download:
        raise ConfigError(f"{key}={value}: {file} is not in the torch hub cache (TORCH_HOME); "
                          f"set detector.download=true to fetch it from {url}")
    file.parent.mkdir(parents=True, exist_ok=True)
    log.info("%s=%s: downloading %s", key, value, url)
    torch.hub.download_url_to_file(url, str(file), progress=True)
    return file


def state_dict_from(path: str | Path, key: str) -> dict[str, torch.Tensor]:
    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(f"{key}: weights file {file} does not exist (nothing is downloaded)")
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ConfigError(f"{key}: cannot load weights file {file} ({exc})") from exc
    if isinstance(state, dict) and "state_dict" in state:  # a Lightning checkpoint
        state = {k.removeprefix("model."): v for k, v in state["state_dict"].items()}
    if not isinstance(state, dict):
        raise ConfigError(f"{key}: {file} does not hold a state dict")
    return state


def for_body(state: dict[str, torch.Tensor], body: nn.Module) -> dict[str, torch.Tensor]:
    """A classification network's weights as a detector's backbone body sees them: a MobileNet
    body is its ``features`` (``features.0.0.weight`` -> ``0.0.weight``); a ResNet's keeps its names."""
    own = body.state_dict()
    if any(k in own for k in state):
        return state
    return {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")}


def load_matching(module: nn.Module, state: dict[str, torch.Tensor], key: str) -> list[str]:
    """Load tensors whose name and shape match; return (and log) those left as initialised."""
    own = module.state_dict()
    keep = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not keep:
        raise ConfigError(f"{key}: no tensor of the weights file matches the model")
    module.load_state_dict(keep, strict=False)
    fresh = [k for k, v in own.items() if k not in keep and v.is_floating_point()]
    log.info("%s: loaded %d/%d tensors (%d of the file unused)", key, len(keep), len(own), len(state) - len(keep))
    if fresh:
        shown = ", ".join(fresh[:6]) + (f" and {len(fresh) - 6} more" if len(fresh) > 6 else "")
        log.info("%s: re-initialised (not in the file, or another shape such as a head for another number "
                 "of classes): %s", key, shown)
    return fresh
