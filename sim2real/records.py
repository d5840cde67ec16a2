"""The in-memory form every reader produces: one ``Record`` per image in a ``LabelledSet``."""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from sim2real.errors import DatasetError

log = logging.getLogger(__name__)


@dataclass
class Record:
    """One image and its labels. Boxes are xyxy pixels; labels are class names."""

    image_path: Path
    image_id: int
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    labels: list[str] = field(default_factory=list)
    width: int | None = None
    height: int | None = None
    instance_ids: list[int] = field(default_factory=list)
    segmentations: list | None = None  # COCO RLE dicts, aligned with boxes
    mask_path: Path | None = None  # 16-bit instance-id map (sim2real datasets)
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.boxes = np.asarray(self.boxes, dtype=np.float32).reshape(-1, 4)
        if len(self.labels) != len(self.boxes):
            raise DatasetError(f"{self.image_path}: {len(self.boxes)} boxes but {len(self.labels)} labels")


@dataclass
class LabelledSet:
    """Records of one data source, with its class names and how it was read."""

    records: list[Record]
    classes: list[str]
    fmt: str
    root: Path
    skipped: int = 0
    unmapped: Counter = field(default_factory=Counter)

    def __len__(self) -> int:
        return len(self.records)

    @property
    def num_boxes(self) -> int:
        return sum(len(r.boxes) for r in self.records)


def resolve_inside(root: Path, name: str, *, source: Path | str) -> Path:
    """Resolve ``name`` under ``root``, refusing absolute paths and ``..`` escapes."""
    root = Path(root).resolve()
    candidate = Path(name)
    if candidate.is_absolute() or ".." in candidate.parts:
        raise DatasetError(f"{source}: file name {name!r} escapes the dataset root {root}")
    path = (root / candidate).resolve()
    if root != path and root not in path.parents:
        raise DatasetError(f"{source}: file name {name!r} escapes the dataset root {root}")
    return path


def map_classes(
    data: LabelledSet, classes: Sequence[str], class_map: Mapping[str, str] | None = None
) -> LabelledSet:
    """Rename labels through ``class_map`` onto ``classes``; count (and warn about) the rest.

    A label already named like a target class maps to itself. Boxes of unmapped labels are
    removed from the records, and ``unmapped`` says which labels and how many boxes.
    """
    class_map = dict(class_map or {})
    targets = set(classes)
    bad = sorted({v for v in class_map.values() if v not in targets})
    if bad:
        raise DatasetError(f"data.class_map maps onto unknown classes {bad}; scene classes are {list(classes)}")
    unmapped: Counter = Counter(data.unmapped)
    out = []
    for rec in data.records:
        keep, names = [], []
        for i, name in enumerate(rec.labels):
            target = class_map.get(name, name if name in targets else None)
            if target is None:
                unmapped[name] += 1
            else:
                keep.append(i)
                names.append(target)
        segs = [rec.segmentations[i] for i in keep] if rec.segmentations is not None else None
        inst = [rec.instance_ids[i] for i in keep] if rec.instance_ids else []
        out.append(replace(rec, boxes=rec.boxes[keep], labels=names, segmentations=segs, instance_ids=inst))
    if unmapped:
        log.warning(
            "%s: labels not mapped onto scene classes %s (boxes dropped): %s",
            data.root, list(classes), dict(unmapped),
        )
    return replace(data, records=out, classes=list(classes), unmapped=unmapped)
