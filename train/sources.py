"""Reading the detector's data sources: training mixes, the real split, the test set.

Every source goes through ``sim2real.readers.load_labelled`` (sim2real / COCO / VOC / YOLO /
BOP) and is mapped onto the classes with ``data.class_map``; a label that maps onto no class
is an error unless ``data.ignore_labels`` names it (its boxes are then dropped and counted).
Box-level attributes that slices need (``occlusion`` and any other annotation field) come
with the records, aligned with the boxes; ignore regions stay in the records (scoring
ignores them, training leaves them out).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from sim2real.errors import ConfigError, DatasetError
from sim2real.readers import load_labelled
from sim2real.records import Record

log = logging.getLogger(__name__)


@dataclass
class Sample:
    """One image: its record (boxes, labels, meta) and per-box attributes aligned with boxes."""

    record: Record
    box_attrs: list[dict] = field(default_factory=list)
    source: str = ""


@dataclass
class Source:
    """A labelled source mapped onto the classes."""

    name: str
    path: Path
    fmt: str
    samples: list[Sample]
    unmapped: dict[str, int] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)  # image files skipped before any work

    def __len__(self) -> int:
        return len(self.samples)


def read_classes(path: str | Path) -> list[str]:
    """The class names a labelled source declares."""
    return list(load_labelled(Path(path)).classes)


def load_source(path: str | Path, classes: Sequence[str], class_map: Mapping[str, str] | None,
                *, key: str, ignore_labels: Sequence[str] = ()) -> Source:
    """Read ``path`` (any labelled format) and map its labels onto ``classes``."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{key}: {path} does not exist")
    data = load_labelled(path, classes=list(classes), class_map=dict(class_map or {}), ignore_labels=ignore_labels,
                         labelled=True, key=key)
    data.issues.report(f"{key} ({path})")
    records, unreadable = readable(data.records, key=f"{key} ({path})")
    samples = [Sample(record=rec, box_attrs=rec.box_attrs if rec.box_attrs is not None else [{} for _ in rec.labels],
                      source=path.name) for rec in records]
    return Source(name=path.name, path=path, fmt=data.fmt, samples=samples, unmapped=dict(data.unmapped),
                  unreadable=unreadable)


def readable(records: Sequence[Record], *, key: str) -> tuple[list[Record], list[str]]:
    """The records whose image files exist and open (read from the header, nothing decoded,
    under the pixel limit), and the skipped files: checked before training, not met in the final
    evaluation. None readable is an error."""
    from sim2real.images import MAX_PIXELS
    from sim2real.readers.checks import image_size

    kept, skipped = [], []
    for rec in records:
        size = image_size(Path(rec.image_path)) if Path(rec.image_path).is_file() else None
        (kept if size is not None and size[0] * size[1] <= MAX_PIXELS else skipped).append(rec)
    if skipped:
        names = ", ".join(Path(r.image_path).name for r in skipped[:3]) + (" ..." if len(skipped) > 3 else "")
        log.warning("%s: skipping %d of %d images that are missing, unreadable or over the pixel limit (%s)",
                    key, len(skipped), len(records), names)
    if records and not kept:
        raise DatasetError(f"{key}: none of its {len(records)} images can be read")
    return kept, [str(r.image_path) for r in skipped]


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
