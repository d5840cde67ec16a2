"""Schema of ``conf/train.yaml`` (sim2real-train)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from omegaconf import MISSING

from sim2real.config.common import LoggerConfig, TrainerConfig


@dataclass
class TrainDataConfig:
    train: list[str] = field(default_factory=lambda: ["data/sim"])
    weights: Optional[list[float]] = None
    real_train: Optional[str] = None
    real_fraction: float = 0.0
    test: Optional[str] = None
    class_map: dict[str, str] = field(default_factory=dict)
    val_fraction: float = 0.1
    batch_size: int = 4
    num_workers: int = 0


@dataclass
class TrainConfig:
    detector: Any = MISSING
    data: TrainDataConfig = field(default_factory=TrainDataConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    schedule: str = "merged"
    out_dir: str = "runs/detector"
    ckpt_path: Optional[str] = None
    seed: int = 0
