"""Readers for labelled and unlabelled data, with automatic layout detection.

Formats (``LAYOUTS`` says how each is recognised): ``sim2real`` (the dataset contract),
``bop``, ``voc`` (devkit or labelImg's flat folder), ``yolo`` (classic or Ultralytics),
``coco`` (a JSON file, or a folder holding one) and ``folder`` (plain images, unlabelled).
Every reader of outside labels runs its boxes through one validation pass
(``sim2real.readers.checks``) and counts each fix in the set's ``issues``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from sim2real.errors import DatasetError
from sim2real.images import list_images
from sim2real.readers import voc
from sim2real.readers.bop import is_bop, read_bop
from sim2real.readers.coco import find_coco_json, read_coco
from sim2real.readers.folder import read_folder
from sim2real.readers.voc import read_voc
from sim2real.readers.yolo import is_yolo, read_yolo
from sim2real.records import LabelledSet, map_classes

READERS: dict[str, Callable[..., LabelledSet]] = {
    "coco": read_coco,
    "voc": read_voc,
    "yolo": read_yolo,
    "bop": read_bop,
    "folder": read_folder,
}

# What detection looks for, in the order it looks (also the error text when nothing matches).
LAYOUTS = {
    "sim2real": "a sim2real dataset (dataset.json)",
    "bop": "BOP (scene_gt.json + scene_gt_info.json + rgb/, in the folder or one or two levels down)",
    "voc": "Pascal VOC (Annotations/ + JPEGImages/, or labelImg's .xml files beside the images)",
    "yolo": "YOLO (labels/ + images/ + classes.txt, obj.names or data.yaml; or an Ultralytics dataset YAML "
            "with names and train/val)",
    "coco": "COCO JSON (annotations.json, instances.json, _annotations.coco.json or annotations/*.json)",
}


def _read_sim2real(path: Path, **_: object) -> LabelledSet:
    from sim2real.dataset import DatasetReader

    return DatasetReader(path).as_labelled()


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
    if is_bop(path):
        return "bop"
    if voc.is_devkit(path):
        return "voc"
    if is_yolo(path):
        return "yolo"
    if find_coco_json(path) is not None:
        return "coco"
    if voc.is_flat(path):
        return "voc"
    if list_images(path):
        return "folder"
    raise DatasetError(f"{path}: no images and no labels found; looked for {'; '.join(LAYOUTS.values())}")


def load_labelled(
    path: Path | str,
    *,
    fmt: str = "auto",
    classes: Sequence[str] | None = None,
    class_map: Mapping[str, str] | None = None,
    ignore_labels: Sequence[str] = (),
    split: str | None = None,
    labelled: bool = False,
    key: str = "data",
    **options: Any,
) -> LabelledSet:
    """Read a data source; with ``classes``, map its labels onto them (see ``map_classes``).

    ``labelled=True``: the caller needs labels, so a source that yields no box is an error
    naming the folder and the layouts tried, never a silently unlabelled folder.
    ``options`` go to the reader (BOP: ``names``, ``min_visib_fract``).
    """
    path = Path(path)
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt not in READERS:
        raise DatasetError(f"{path}: unknown format {fmt!r}; known: {sorted(READERS)}")
    if labelled and fmt == "folder":
        raise DatasetError(f"{key}={path}: a folder of images without labels; looked for {'; '.join(LAYOUTS.values())}")
    data = READERS[fmt](path, split=split, **options)
    if labelled and data.num_boxes == 0:
        raise DatasetError(f"{key}={path}: read as {fmt} but holds no boxes in its {len(data)} images"
                           + (f" (split {split!r})" if split else "") + f"; looked for {'; '.join(LAYOUTS.values())}")
    if classes is not None and fmt != "folder":
        data = map_classes(data, classes, class_map, ignore_labels=ignore_labels, key=key)
    return data


def load_unlabelled(path: Path | str, *, split: str | None = None, **options: Any) -> list[Path]:
    """Image paths of any source (labels ignored), for refiner training."""
    data = load_labelled(path, split=split, **options)
    if not data.records:
        raise DatasetError(f"{path}: holds no images")
    return [r.image_path for r in data.records]


__all__ = ["LAYOUTS", "READERS", "detect_format", "load_labelled", "load_unlabelled"]
