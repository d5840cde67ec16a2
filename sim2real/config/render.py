"""Schema of ``conf/render.yaml`` (sim2real-render)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from omegaconf import MISSING

from sim2real.config.common import LoggerConfig


@dataclass
class ShardConfig:
    index: int = 0
    count: int = 1


@dataclass
class RenderConfig:
    scene: Any = MISSING
    reality: Any = MISSING
    num_images: int = 16
    resolution: int = 128
    seed: int = 0
    out_dir: str = "data/render"
    name: Optional[str] = None
    workers: int = 1
    shard: ShardConfig = field(default_factory=ShardConfig)
    overwrite: bool = False
    logger: LoggerConfig = field(default_factory=LoggerConfig)
