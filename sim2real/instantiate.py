"""Every ``hydra.utils.instantiate`` call of the project lives here.

Models are built through registries (``render.scenes.create``, ``refiner.models.create``,
``train.detectors.create``; sim2real/registry.py) from plain config;
what Hydra instantiates are ``_target_`` nodes: optimisers, schedulers, callbacks, the trainer.
"""
from __future__ import annotations

from typing import Any, Iterable

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from sim2real.errors import ConfigError


def instantiate_node(node: DictConfig | dict, *args: Any, **kwargs: Any) -> Any:
    """Instantiate a ``_target_`` node, with a clear error naming the target when it fails."""
    target = node.get("_target_") if node is not None else None
    if not target:
        raise ConfigError(f"config node has no _target_: {OmegaConf.to_yaml(node) if node else node}")
    try:
        return instantiate(node, *args, **kwargs)
    except Exception as exc:  # hydra wraps import and argument errors
        raise ConfigError(f"cannot instantiate {target}: {exc}") from exc


def make_optimizer(node: DictConfig | dict, params: Iterable) -> Any:
    """``node`` is a partial optimiser, e.g. ``{_target_: torch.optim.Adam, lr: 2e-4}``."""
    return instantiate_node(node, params=params)


def make_trainer(trainer_cfg: DictConfig | dict, **overrides: Any) -> Any:
    """A Lightning ``Trainer`` from ``sim2real/conf/trainer`` plus stage-specific keyword arguments.

    Keys that are ours, not the Trainer's (``channels_last``, ``compile``), are removed.
    """
    kwargs = dict(OmegaConf.to_container(trainer_cfg, resolve=True, enum_to_str=True)) if isinstance(trainer_cfg, DictConfig) else dict(trainer_cfg)
    for ours in ("channels_last", "compile"):
        kwargs.pop(ours, None)
    kwargs.update(overrides)
    return instantiate_node({"_target_": "pytorch_lightning.Trainer", **kwargs})
