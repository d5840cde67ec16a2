"""YOLO txt: ``images/`` + ``labels/`` (same stems, optional split subfolders) + a names file.

A label line is ``class cx cy w h`` normalised to the image size; the names file is
``classes.txt``, ``obj.names`` or ``names.txt`` (one name a line) or ``data.yaml`` (``names:``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from PIL import Image

from sim2real.errors import DatasetError
from sim2real.images import list_images
from sim2real.records import LabelledSet, Record

_NAME_FILES = ("classes.txt", "obj.names", "names.txt", "data.yaml", "dataset.yaml")


def find_names_file(root: Path) -> Path | None:
    for name in _NAME_FILES:
        if (root / name).is_file():
            return root / name
    return None


def _names(path: Path) -> list[str]:
    if path.suffix in (".yaml", ".yml"):
        data = yaml.safe_load(path.read_text()) or {}
        names = data.get("names")
        if isinstance(names, dict):
            return [str(names[k]) for k in sorted(names)]
        if isinstance(names, list):
            return [str(n) for n in names]
        raise DatasetError(f"{path}: no 'names' list")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def read_yolo(path: Path, *, split: str | None = None, **_: object) -> LabelledSet:
    root = Path(path)
    names_file = find_names_file(root)
    if names_file is None:
        raise DatasetError(f"{root}: YOLO set needs a names file ({', '.join(_NAME_FILES)})")
    names = _names(names_file)
    images_dir = root / "images" / split if split else root / "images"
    labels_dir = root / "labels" / split if split else root / "labels"
    if not images_dir.is_dir():
        raise DatasetError(f"{root}: no images folder {images_dir}")
    records = []
    for i, image_path in enumerate(list_images(images_dir)):
        rel = image_path.relative_to(images_dir).with_suffix(".txt")
        label_path = labels_dir / rel
        boxes, labels = [], []
        if label_path.is_file():
            try:
                with Image.open(image_path) as im:
                    width, height = im.size
            except OSError:
                width = height = None  # unreadable: counted and skipped when loaded
            for n, line in enumerate(label_path.read_text().splitlines(), start=1):
                parts = line.split()
                if not parts:
                    continue
                if len(parts) < 5:
                    raise DatasetError(f"{label_path}:{n}: expected 'class cx cy w h', got {line!r}")
                cls = int(parts[0])
                if not 0 <= cls < len(names):
                    raise DatasetError(f"{label_path}:{n}: class {cls} not in {names_file.name} ({len(names)} names)")
                if width is None:
                    continue
                cx, cy, w, h = (float(v) for v in parts[1:5])
                boxes.append([(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height])
                labels.append(names[cls])
        else:
            width = height = None
        records.append(Record(image_path=image_path, image_id=i + 1, boxes=np.array(boxes, np.float32),
                              labels=labels, width=width, height=height))
    if not records:
        raise DatasetError(f"{images_dir}: YOLO set holds no images")
    return LabelledSet(records=records, classes=names, fmt="yolo", root=root)
