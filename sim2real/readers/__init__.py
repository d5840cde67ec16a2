"""Readers for labelled and unlabelled data, with automatic format detection.

Formats: ``sim2real`` (the dataset contract), ``coco`` (a JSON file, or a folder holding one),
``voc`` (``Annotations/`` + ``JPEGImages/``), ``yolo`` (``labels/`` + ``images/`` + a names
file) and ``folder`` (plain images, unlabelled).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping, Sequence

from sim2real.errors import DatasetError
from sim2real.images import list_images
from sim2real.records import LabelledSet, map_classes
from sim2real.readers.coco import find_coco_json, read_coco
from sim2real.readers.folder import read_folder
from sim2real.readers.voc import read_voc
from sim2real.readers.yolo import find_names_file, read_yolo

READERS: dict[str, Callable[..., LabelledSet]] = {
    "coco": read_coco,
    "voc": read_voc,
    "yolo": read_yolo,
    "folder": read_folder,
}


def _read_sim2real(path: Path, **_: object) -> LabelledSet:
    from sim2real.dataset import SimDataset

    return SimDataset(path).as_labelled()


READERS["sim2real"] = _read_sim2real


def detect_format(path: Path) -> str:
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder")
    if path.is_file():
        if path.suffix.lower() == ".json":
            return "coco"
        raise DatasetError(f"{path}: a data source must be a folder or a COCO .json file")
    if (path / "dataset.json").is_file():
        return "sim2real"
    if (path / "Annotations").is_dir():
        return "voc"
    if (path / "labels").is_dir() and find_names_file(path) is not None:
        return "yolo"
    if find_coco_json(path) is not None:
        return "coco"
    if list_images(path):
        return "folder"
    raise DatasetError(f"{path}: no images and no COCO, VOC or YOLO labels found")


def load_labelled(
    path: Path | str,
    *,
    fmt: str = "auto",
    classes: Sequence[str] | None = None,
    class_map: Mapping[str, str] | None = None,
    split: str | None = None,
) -> LabelledSet:
    """Read a data source; with ``classes``, map its labels onto them (see ``map_classes``)."""
    path = Path(path)
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt not in READERS:
        raise DatasetError(f"{path}: unknown format {fmt!r}; known: {sorted(READERS)}")
    data = READERS[fmt](path, split=split)
    if classes is not None and fmt != "folder":
        data = map_classes(data, classes, class_map)
    return data


def load_unlabelled(path: Path | str) -> list[Path]:
    """Image paths of any source (labels ignored), for refiner training."""
    data = load_labelled(path)
    if not data.records:
        raise DatasetError(f"{path}: holds no images")
    return [r.image_path for r in data.records]


__all__ = ["READERS", "detect_format", "load_labelled", "load_unlabelled"]
