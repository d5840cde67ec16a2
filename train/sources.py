"""Reading the detector's data sources: training mixes, the real split, the test set.

Every source goes through ``sim2real.readers.load_labelled`` (sim2real / COCO / VOC / YOLO)
and is mapped onto the scene classes with ``data.class_map``; unmapped labels are reported.
Box-level attributes that slices need (``occlusion`` and any other annotation field) are read
from the COCO JSON of sim2real and COCO sets and kept aligned with the boxes.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from sim2real.errors import ConfigError, DatasetError
from sim2real.readers import detect_format, load_labelled
from sim2real.readers.coco import find_coco_json
from sim2real.records import LabelledSet, Record

log = logging.getLogger(__name__)

_NOT_ATTRIBUTES = {"id", "image_id", "category_id", "bbox", "segmentation", "area", "iscrowd"}


@dataclass
class Sample:
    """One image: its record (boxes, labels, meta) and per-box attributes aligned with boxes."""

    record: Record
    box_attrs: list[dict] = field(default_factory=list)
    source: str = ""


@dataclass
class Source:
    """A labelled source mapped onto the scene classes."""

    name: str
    path: Path
    fmt: str
    samples: list[Sample]
    unmapped: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.samples)


def _coco_attributes(path: Path, fmt: str) -> dict[int, list[dict]] | None:
    """Extra annotation fields per image id, in the order the readers list the boxes."""
    if fmt == "sim2real":
        json_path = path / "annotations.json"
    elif fmt == "coco":
        json_path = path if path.is_file() else find_coco_json(path)
    else:
        return None
    if json_path is None or not json_path.is_file():
        return None
    coco = json.loads(json_path.read_text())
    by_image: dict[int, list[dict]] = {}
    for ann in coco.get("annotations", []):
        if fmt == "coco" and ann.get("iscrowd", 0):
            continue
        by_image.setdefault(int(ann["image_id"]), []).append(
            {k: v for k, v in ann.items() if k not in _NOT_ATTRIBUTES})
    return by_image


def read_classes(path: str | Path) -> list[str]:
    """The class names a labelled source declares."""
    return list(load_labelled(Path(path)).classes)


def load_source(path: str | Path, classes: Sequence[str], class_map: Mapping[str, str] | None,
                *, key: str) -> Source:
    """Read ``path`` (any labelled format) and map its labels onto ``classes``."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{key}: {path} does not exist")
    fmt = detect_format(path)
    if fmt == "folder":
        raise DatasetError(f"{key}: {path} holds images but no labels (COCO, VOC, YOLO or a sim2real dataset needed)")
    raw: LabelledSet = load_labelled(path, fmt=fmt)
    attrs = _coco_attributes(path, fmt)
    targets = set(classes)
    cmap = dict(class_map or {})
    mapped = load_labelled(path, fmt=fmt, classes=list(classes), class_map=cmap)
    samples = []
    for rec_raw, rec in zip(raw.records, mapped.records):
        box_attrs = (attrs or {}).get(rec_raw.image_id) or [{} for _ in rec_raw.labels]
        if len(box_attrs) != len(rec_raw.labels):
            box_attrs = [{} for _ in rec_raw.labels]
        keep = [i for i, name in enumerate(rec_raw.labels) if cmap.get(name, name if name in targets else None)]
        samples.append(Sample(record=rec, box_attrs=[box_attrs[i] for i in keep], source=path.name))
    unmapped = dict(mapped.unmapped)
    if unmapped:
        log.warning("%s (%s): labels not in the scene classes %s were dropped: %s; map them with data.class_map",
                    key, path, list(classes), unmapped)
    return Source(name=path.name, path=path, fmt=fmt, samples=samples, unmapped=unmapped)


def as_list(value: object, key: str) -> list[str]:
    """``data.train`` may be one path or a list of paths."""
    if value is None:
        return []
    if isinstance(value, (str, Path)):
        return [str(value)]
    try:
        return [str(v) for v in value]  # type: ignore[union-attr]
    except TypeError:
        raise ConfigError(f"{key} must be a path or a list of paths, got {value!r}") from None


def subset(samples: list[Sample], fraction: float, seed: int, *, key: str) -> list[Sample]:
    """A seeded random ``fraction`` of ``samples`` (at least one image when fraction > 0).

    Nested: the images picked for 0.1 are among those picked for 0.25, so a real-fraction curve
    adds data rather than resampling it.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ConfigError(f"{key} must lie in [0, 1], got {fraction}")
    if fraction == 0.0 or not samples:
        return []
    order = np.random.default_rng(seed).permutation(len(samples))
    count = max(1, int(round(fraction * len(samples))))
    return [samples[i] for i in sorted(order[:count])]


def split_validation(samples: list[Sample], fraction: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """Hold out ``fraction`` of one source's training images for validation (none below 5 images)."""
    if fraction <= 0.0 or len(samples) < 5:
        return samples, []
    order = np.random.default_rng(seed + 7919).permutation(len(samples))
    n_val = max(1, int(round(fraction * len(samples))))
    val_idx = set(order[:n_val].tolist())
    return ([s for i, s in enumerate(samples) if i not in val_idx],
            [s for i, s in enumerate(samples) if i in val_idx])


def box_sizes(samples: Sequence[Sample]) -> np.ndarray:
    """sqrt(box area) in pixels of every training box (what anchor sizes follow)."""
    sizes = [np.sqrt(np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None))
             for b in (s.record.boxes for s in samples) if len(b)]
    return np.concatenate(sizes) if sizes else np.zeros(0, np.float32)
