"""Schema pieces shared by several stages: logging (W&B) and the Lightning trainer."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from sim2real.config.choices import LoggerMode


@dataclass
class LoggerConfig:
    """W&B tracking. ``mode``: offline (default), online or disabled (tests)."""

    mode: LoggerMode = LoggerMode.offline
    project: str = "sim2real"
    entity: Optional[str] = None
    group: Optional[str] = None
    name: Optional[str] = None
    tags: list[str] = field(default_factory=list)
    dir: Optional[str] = None
    log_images_every_n_steps: int = 100


@dataclass
class TrainerConfig:
    """Keyword arguments for ``lightning.Trainer`` (see sim2real/conf/trainer/)."""

    accelerator: str = "cpu"
    devices: Any = 1
    strategy: str = "auto"
    num_nodes: int = 1
    precision: str = "32-true"
    max_steps: int = -1
    max_epochs: Optional[int] = None
    log_every_n_steps: int = 10
    check_val_every_n_epoch: int = 1
    val_check_interval: Optional[float] = None
    num_sanity_val_steps: int = 0
    gradient_clip_val: Optional[float] = None
    accumulate_grad_batches: int = 1
    deterministic: bool = False
    enable_progress_bar: bool = True
    enable_model_summary: bool = False
    channels_last: bool = False
    compile: bool = False
