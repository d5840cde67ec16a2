"""Schema of ``conf/pipeline.yaml`` (sim2real: every stage, then the report)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from sim2real.config.common import LoggerConfig


@dataclass
class PipelineDataConfig:
    real: Optional[str] = None
    real_test: Optional[str] = None
    real_train: Optional[str] = None
    class_map: dict[str, str] = field(default_factory=dict)


@dataclass
class PipelineConfig:
    data: PipelineDataConfig = field(default_factory=PipelineDataConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    out_dir: str = "runs/pipeline"
    seed: int = 0
