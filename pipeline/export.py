"""``sim2real-export``: a labelled set as YOLO or COCO (sim2real/export.py), or a trained detector as
ONNX (train/onnx_export.py). On the top floor because it reaches both the core and the detector stage."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Optional

import hydra
from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig

from sim2real.app import CONF_DIR, guarded
from sim2real.errors import ConfigError


class ExportFormat(StrEnum):
    yolo = "yolo"
    coco = "coco"
    onnx = "onnx"


@dataclass
class ExportConfig:
    format: ExportFormat = ExportFormat.yolo
    out_dir: str = "runs/export"
    dataset: Optional[str] = None  # yolo | coco: any labelled set
    split: Optional[str] = None  # which split of a source holding several (YOLO val, VOC ImageSets, ...)
    name: str = "train"  # the split name written (YOLO: images/<name>; data.yaml's train and val point at it)
    overwrite: bool = False
    ckpt: Optional[str] = None  # onnx: a detector checkpoint or a detector run's out_dir
    check_images: list[str] = field(default_factory=list)  # onnx: photos to compare ONNX Runtime with PyTorch on


ConfigStore.instance().store(name="export_schema", node=ExportConfig)


def run(cfg: DictConfig) -> dict:
    if cfg.format == ExportFormat.onnx:
        if not cfg.ckpt:
            raise ConfigError("format=onnx exports a detector: set ckpt=<checkpoint or detector run folder>")
        from train.onnx_export import export_onnx

        return export_onnx(cfg.ckpt, cfg.out_dir, check_images=list(cfg.check_images), overwrite=bool(cfg.overwrite))
    if not cfg.dataset:
        raise ConfigError(f"format={cfg.format} exports a labelled set: set dataset=<folder or COCO json>")
    from sim2real.export import export_dataset

    return export_dataset(cfg.dataset, cfg.out_dir, str(cfg.format), split=cfg.split, name=cfg.name,
                          overwrite=bool(cfg.overwrite))


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="export")
@guarded
def main(cfg: DictConfig) -> dict:
    return run(cfg)


if __name__ == "__main__":
    main()
