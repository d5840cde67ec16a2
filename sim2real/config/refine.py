"""Schema of ``conf/refine.yaml`` (sim2real-refine)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from omegaconf import MISSING

from sim2real.config.common import LoggerConfig, TrainerConfig


@dataclass
class RefineDataConfig:
    sim: str = "data/sim"
    real: str = "data/real"
    crop: int = 64
    batch_size: int = 1
    num_workers: int = 0


@dataclass
class RefineConfig:
    refiner: Any = MISSING
    data: RefineDataConfig = field(default_factory=RefineDataConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    out_dir: str = "data/refined"
    ckpt_path: Optional[str] = None
    seed: int = 0
    overwrite: bool = False
