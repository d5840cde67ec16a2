"""The in-memory form every reader produces: one ``Record`` per image in a ``LabelledSet``.

A record's boxes may include *ignore regions* (``ignore[i]`` true): COCO ``iscrowd``, VOC
``difficult``, BOP instances below the visibility threshold. They are kept so that scoring
neither rewards nor punishes detections on them, and left out of training targets.
"""
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
    ignore: np.ndarray | None = None  # bool per box: an ignore region (None: none is)
    box_attrs: list[dict] | None = None  # per-box extra fields (e.g. BOP's visib_fract), aligned with boxes

    def __post_init__(self) -> None:
        self.boxes = np.asarray(self.boxes, dtype=np.float32).reshape(-1, 4)
        if len(self.labels) != len(self.boxes):
            raise DatasetError(f"{self.image_path}: {len(self.boxes)} boxes but {len(self.labels)} labels")
        self.ignore = (np.zeros(len(self.boxes), bool) if self.ignore is None
                       else np.asarray(self.ignore, dtype=bool).reshape(-1))
        if len(self.ignore) != len(self.boxes):
            raise DatasetError(f"{self.image_path}: {len(self.boxes)} boxes but {len(self.ignore)} ignore flags")
        if self.box_attrs is not None and len(self.box_attrs) != len(self.boxes):
            raise DatasetError(f"{self.image_path}: {len(self.boxes)} boxes but {len(self.box_attrs)} box attributes")

    def select(self, keep: Sequence[int] | np.ndarray) -> "Record":
        """A copy holding only the boxes at ``keep`` (indices or a bool mask), labels and all."""
        idx = np.flatnonzero(keep) if np.asarray(keep).dtype == bool else np.asarray(keep, dtype=int)
        return replace(
            self, boxes=self.boxes[idx], labels=[self.labels[i] for i in idx], ignore=self.ignore[idx],
            segmentations=[self.segmentations[i] for i in idx] if self.segmentations is not None else None,
            instance_ids=[self.instance_ids[i] for i in idx] if self.instance_ids else [],
            box_attrs=[self.box_attrs[i] for i in idx] if self.box_attrs is not None else None)


@dataclass
class LabelledSet:
    """Records of one data source, with its class names and how it was read."""

    records: list[Record]
    classes: list[str]
    fmt: str
    root: Path
    skipped: int = 0
    unmapped: Counter = field(default_factory=Counter)
    issues: "LabelIssues" = field(default_factory=lambda: LabelIssues())

    def __len__(self) -> int:
        return len(self.records)

    @property
    def num_boxes(self) -> int:
        return sum(len(r.boxes) for r in self.records)

    @property
    def num_ignored(self) -> int:
        return sum(int(r.ignore.sum()) for r in self.records)


# COCO annotation fields that are not per-box attributes (everything else is: occlusion, ...).
NOT_ATTRIBUTES = frozenset({"id", "image_id", "category_id", "bbox", "segmentation", "area", "iscrowd"})


def box_attributes(annotation: Mapping) -> dict:
    return {k: v for k, v in annotation.items() if k not in NOT_ATTRIBUTES}


# What a reader may fix or drop, and how it is worded in the log (``LabelIssues.report``).
ISSUE_TEXT = {
    "missing_image": "annotation files whose image was not found (skipped)",
    "clipped": "boxes reaching outside the image (clipped to it)",
    "degenerate": "boxes of zero or negative size (dropped)",
    "non_finite": "boxes with NaN or infinite coordinates (dropped)",
    "polygon": "polygon labels (converted to their bounding box)",
    "float_class": "class ids written as whole floats such as 0.0 (read as integers)",
    "ignored": "boxes kept as ignore regions (iscrowd, difficult or barely visible)",
    "invisible": "instances with no visible pixel (dropped)",
    "rescaled": "boxes of images stored at another size than labelled (scaled to the file)",
}
LOSSES = ("missing_image", "degenerate", "non_finite", "invisible")  # kinds that lose data


@dataclass
class LabelIssues:
    """Counts of every fix and drop a reader made, with the files they came from."""

    counts: Counter = field(default_factory=Counter)
    files: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, file: Path | str, n: int = 1) -> None:
        if kind not in ISSUE_TEXT:
            raise KeyError(kind)
        if n <= 0:
            return
        self.counts[kind] += n
        names = self.files.setdefault(kind, [])
        if str(file) not in names:
            names.append(str(file))

    def __bool__(self) -> bool:
        return bool(self.counts)

    def lost(self) -> int:
        return sum(self.counts[k] for k in LOSSES)

    def as_dict(self) -> dict:
        return {k: {"count": int(self.counts[k]), "files": self.files.get(k, [])[:20]} for k in sorted(self.counts)}

    def report(self, source: Path | str) -> None:
        """One log line per kind: how many, and the first few files."""
        for kind in sorted(self.counts):
            files = self.files.get(kind, [])
            shown = ", ".join(Path(f).name for f in files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
            level = logging.WARNING if kind in LOSSES or kind in ("clipped",) else logging.INFO
            log.log(level, "%s: %d %s: %s", source, self.counts[kind], ISSUE_TEXT[kind], shown)


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


def parse_class_map(value: object, key: str = "data.class_map") -> dict[str, str]:
    """``{label: class}`` from a mapping, or from its YAML/JSON text (how the pipeline passes it on)."""
    from sim2real.errors import ConfigError

    if value is None:
        return {}
    if isinstance(value, str):
        import yaml

        try:
            value = yaml.safe_load(value) if value.strip() else {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{key}: cannot read {value!r} as a mapping ({exc})") from None
    try:
        items = dict(value).items()  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be a mapping {{label: class}}, got {value!r}") from None
    bad = {k: v for k, v in items if not isinstance(v, str) or isinstance(k, (dict, list))}
    if bad:
        raise ConfigError(f"{key} must map names onto class names, got {bad}")
    return {str(k): str(v) for k, v in items}


def map_classes(
    data: LabelledSet, classes: Sequence[str], class_map: Mapping[str, str] | None = None,
    *, ignore_labels: Sequence[str] = (), key: str = "data",
) -> LabelledSet:
    """Rename labels through ``class_map`` onto ``classes``; a label named like a class maps to itself.

    A label that maps onto no class is an error listing both sides, unless it is in
    ``ignore_labels``: then its boxes are dropped, and ``unmapped`` counts them per label.
    """
    class_map = dict(class_map or {})
    targets = set(classes)
    bad = sorted({v for v in class_map.values() if v not in targets})
    if bad:
        raise DatasetError(f"data.class_map maps onto unknown classes {bad}; the classes are {list(classes)}")
    ignored = set(ignore_labels)
    unknown = sorted({name for rec in data.records for name in rec.labels
                      if name not in class_map and name not in targets and name not in ignored})
    if unknown:
        raise DatasetError(
            f"{key} ({data.root}): labels {unknown} map onto none of the classes {list(classes)}; map them with "
            f"data.class_map={{{unknown[0]}: <class>}} or drop them with data.ignore_labels=[{', '.join(unknown)}]")
    unmapped: Counter = Counter(data.unmapped)
    out = []
    for rec in data.records:
        keep = [i for i, name in enumerate(rec.labels) if name in class_map or name in targets]
        for i, name in enumerate(rec.labels):
            if i not in keep:
                unmapped[name] += 1
        mapped = rec.select(keep)
        mapped.labels = [class_map.get(name, name) for name in mapped.labels]
        out.append(mapped)
    if unmapped:
        log.info("%s (%s): boxes of ignored labels dropped: %s", key, data.root, dict(unmapped))
    return replace(data, records=out, classes=list(classes), unmapped=unmapped)
