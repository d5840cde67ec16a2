"""Typed config schemas (dataclasses) registered in Hydra's ConfigStore.

Each primary config (``conf/<stage>.yaml``) starts its defaults list with ``<stage>_schema``,
so composition checks every key and type before any work starts: an unknown key or a wrong
type fails naming the key.
"""
from __future__ import annotations

from hydra.core.config_store import ConfigStore

_registered = False


def register_configs() -> None:
    global _registered
    if _registered:
        return
    from sim2real.config.pipeline import PipelineConfig
    from sim2real.config.refine import RefineConfig
    from sim2real.config.render import RenderConfig
    from sim2real.config.train import TrainConfig

    cs = ConfigStore.instance()
    cs.store(name="render_schema", node=RenderConfig)
    cs.store(name="refine_schema", node=RefineConfig)
    cs.store(name="train_schema", node=TrainConfig)
    cs.store(name="pipeline_schema", node=PipelineConfig)
    _registered = True
