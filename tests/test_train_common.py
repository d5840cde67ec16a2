"""Shared helpers of the detector-stage tests (no tests here): tiny data and config composition."""
from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from sim2real.app import CONF_DIR
from pipeline.config import register_configs
from sim2real.synthetic import make_shapes_dataset

register_configs()

FAST = [  # a few real steps, no plots: what most tests need
    "trainer.max_epochs=1", "trainer.max_steps=2", "trainer.enable_progress_bar=false",
    "data.batch_size=2", "data.eval_batch_size=4", "logger=none", "num_threads=2",
]


def compose_train(*overrides: str) -> DictConfig:
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return compose(config_name="train", overrides=list(overrides))


def shapes(root: Path, name: str, *, num_images: int = 8, style: str = "sim", seed: int = 0,
           size: int = 64, classes: tuple[str, ...] = ("square", "disc"), max_objects: int = 3) -> Path:
    path = root / name
    if not (path / "dataset.json").is_file():
        make_shapes_dataset(path, num_images=num_images, size=size, seed=seed, style=style, classes=classes,
                            max_objects=max_objects)
    return path
