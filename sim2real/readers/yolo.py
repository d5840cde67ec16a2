"""YOLO txt labels, in the classic and the Ultralytics layout.

- classic: ``images/`` + ``labels/`` (same relative paths, optional split subfolders) + a names
  file (``classes.txt``, ``obj.names``, ``names.txt``, or a YAML with ``names:``);
- Ultralytics: a dataset YAML in the folder (any name) with ``names`` (a list, or a dict
  ``{index: name}``), ``train`` / ``val`` / ``test`` (image folders, ``.txt`` lists of images,
  or lists of those) relative to ``path`` (default: the YAML's folder). An image's label file
  is its path with the last ``images`` folder replaced by ``labels`` and the suffix by ``.txt``.

A line is ``class cx cy w h`` normalised to the image size, or a segment
``class x1 y1 x2 y2 x3 y3 ...``, which becomes its bounding box (with ``kpt_shape`` in the
YAML, a pose line: its first four numbers are the box). Class ids written as whole floats
(``0.0``) are read as integers; anything else that is not a number is an error naming the line.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import yaml

from sim2real.errors import DatasetError
from sim2real.images import IMAGE_SUFFIXES, list_images
from sim2real.readers.checks import clean_boxes, image_size
from sim2real.records import LabelIssues, LabelledSet, Record

log = logging.getLogger(__name__)
_NAME_FILES = ("classes.txt", "obj.names", "names.txt", "data.yaml", "dataset.yaml")
SPLITS = ("train", "val", "test")


def _load_yaml(path: Path) -> dict | None:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) else None


def find_data_yaml(root: Path) -> Path | None:
    """A YAML in ``root`` that declares ``names`` (Ultralytics' dataset file, any name)."""
    for path in sorted(Path(root).glob("*.y*ml")):
        data = _load_yaml(path)
        if data is not None and "names" in data:
            return path
    return None


def find_names_file(root: Path) -> Path | None:
    for name in _NAME_FILES:
        if (root / name).is_file():
            return root / name
    return find_data_yaml(root)


def is_yolo(root: Path) -> bool:
    root = Path(root)
    data = _load_yaml(find_data_yaml(root)) if find_data_yaml(root) else None
    if data is not None and any(data.get(k) for k in SPLITS):
        return True
    return (root / "labels").is_dir() and find_names_file(root) is not None


def _names(path: Path) -> list[str]:
    if path.suffix in (".yaml", ".yml"):
        names = (_load_yaml(path) or {}).get("names")
        if isinstance(names, dict):
            try:
                return [str(names[k]) for k in sorted(names, key=int)]
            except (TypeError, ValueError):
                raise DatasetError(f"{path}: 'names' keys must be class indices, got {sorted(names)}") from None
        if isinstance(names, list):
            return [str(n) for n in names]
        raise DatasetError(f"{path}: no 'names' list")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def label_path(image: Path) -> Path:
    """Ultralytics' rule: the last ``images`` folder of the path becomes ``labels``, suffix ``.txt``."""
    parts = list(image.parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            break
    return Path(*parts).with_suffix(".txt")


def _images_of(entry: str, base: Path, yaml_path: Path) -> list[Path]:
    path = (base / entry) if not Path(entry).is_absolute() else Path(entry)
    if path.is_dir():
        return list_images(path)
    if path.is_file() and path.suffix == ".txt":
        out = []
        for line in path.read_text().splitlines():
            line = line.strip()
            if line:
                p = Path(line)
                out.append(p if p.is_absolute() else (path.parent / p).resolve())
        return [p for p in out if p.suffix.lower() in IMAGE_SUFFIXES]
    raise DatasetError(f"{yaml_path}: {entry!r} is neither an image folder nor a .txt list under {base}")


def _base(data: dict, yaml_path: Path) -> Path:
    here = yaml_path.parent
    given = data.get("path")
    if not given:
        return here
    candidate = Path(given) if Path(given).is_absolute() else here / given
    if candidate.is_dir():
        return candidate
    log.info("%s: path %r does not exist here; reading the splits relative to %s", yaml_path, given, here)
    return here


def _ultralytics_images(yaml_path: Path, split: str | None) -> list[Path]:
    data = _load_yaml(yaml_path) or {}
    present = [k for k in SPLITS if data.get(k)]
    if split and split not in present:
        raise DatasetError(f"{yaml_path}: no split {split!r} (it lists {present})")
    base = _base(data, yaml_path)
    images: list[Path] = []
    for key in [split] if split else present:
        entries = data[key] if isinstance(data[key], list) else [data[key]]
        for entry in entries:
            images += _images_of(str(entry), base, yaml_path)
    return list(dict.fromkeys(images))  # a file listed in two splits counts once


def _number(text: str, label_file: Path, n: int, line: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise DatasetError(f"{label_file}:{n}: {text!r} is not a number in {line!r}") from None


def parse_line(line: str, label_file: Path, n: int, *, num_classes: int, pose: bool,
               issues: LabelIssues) -> tuple[int, list[float]] | None:
    """(class index, normalised xyxy box) of one label line; None for a blank or comment line."""
    parts = line.split()
    if not parts or parts[0].startswith("#"):
        return None
    cls_value = _number(parts[0], label_file, n, line)
    if not math.isfinite(cls_value) or cls_value != int(cls_value):
        raise DatasetError(f"{label_file}:{n}: class {parts[0]!r} is not a whole number")
    if not parts[0].lstrip("+-").isdigit():
        issues.add("float_class", label_file)
    cls = int(cls_value)
    if not 0 <= cls < num_classes:
        raise DatasetError(f"{label_file}:{n}: class {cls} not in the names ({num_classes} names)")
    values = [_number(v, label_file, n, line) for v in parts[1:]]
    if len(values) == 4 or (pose and len(values) > 4):
        cx, cy, w, h = values[:4]
        return cls, [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]
    if len(values) >= 6 and len(values) % 2 == 0:
        issues.add("polygon", label_file)
        xs, ys = np.array(values[0::2]), np.array(values[1::2])
        return cls, [float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())]
    raise DatasetError(f"{label_file}:{n}: expected 'class cx cy w h' or a polygon 'class x1 y1 x2 y2 x3 y3 ...', "
                       f"got {line!r}")


def _record(image_path: Path, image_id: int, names: list[str], pose: bool, issues: LabelIssues) -> Record:
    labels_file = label_path(image_path)
    size = image_size(image_path)
    if not labels_file.is_file():
        return Record(image_path=image_path, image_id=image_id, width=size[0] if size else None,
                      height=size[1] if size else None)
    rows = [parse_line(line, labels_file, n, num_classes=len(names), pose=pose, issues=issues)
            for n, line in enumerate(labels_file.read_text().splitlines(), start=1)]
    rows = [r for r in rows if r is not None]
    if size is None:  # unreadable image: counted and skipped when loaded
        return Record(image_path=image_path, image_id=image_id)
    w, h = size
    norm = np.array([r[1] for r in rows], np.float64).reshape(-1, 4)
    boxes, keep = clean_boxes(norm * np.array([w, h, w, h]), w, h, issues=issues, file=labels_file)
    kept = np.flatnonzero(keep)
    return Record(image_path=image_path, image_id=image_id, boxes=boxes[kept],
                  labels=[names[rows[i][0]] for i in kept], width=w, height=h)


def read_yolo(path: Path, *, split: str | None = None, **_: object) -> LabelledSet:
    root = Path(path)
    data_yaml = find_data_yaml(root)
    data = (_load_yaml(data_yaml) or {}) if data_yaml else {}
    if data_yaml and any(data.get(k) for k in SPLITS):
        names_file, images = data_yaml, _ultralytics_images(data_yaml, split)
        where = data_yaml
    else:
        names_file = find_names_file(root)
        if names_file is None:
            raise DatasetError(f"{root}: YOLO set needs a names file ({', '.join(_NAME_FILES)}) or a dataset YAML")
        images_dir = root / "images" / split if split else root / "images"
        if not images_dir.is_dir():
            raise DatasetError(f"{root}: no images folder {images_dir}")
        images, where = list_images(images_dir), images_dir
    names = _names(names_file)
    pose = "kpt_shape" in data
    issues = LabelIssues()
    records = [_record(p, i + 1, names, pose, issues) for i, p in enumerate(images)]
    if not records:
        raise DatasetError(f"{where}: YOLO set holds no images")
    return LabelledSet(records=records, classes=names, fmt="yolo", root=root, issues=issues)
