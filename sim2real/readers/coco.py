"""COCO detection JSON (boxes, optional segmentations); ``iscrowd`` regions are kept as ignore regions."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from sim2real.errors import DatasetError
from sim2real.masks import xywh_to_xyxy
from sim2real.readers.checks import clean_boxes
from sim2real.records import LabelIssues, LabelledSet, Record, box_attributes, resolve_inside

_CANDIDATES = ("annotations.json", "instances.json", "_annotations.coco.json")


def find_coco_json(folder: Path) -> Path | None:
    for name in _CANDIDATES:
        if (folder / name).is_file():
            return folder / name
    ann_dir = folder / "annotations"
    if ann_dir.is_dir():
        found = sorted(ann_dir.glob("*.json"))
        if len(found) == 1:
            return found[0]
    return None


def read_coco(path: Path, *, split: str | None = None, **_: object) -> LabelledSet:
    """``path`` is the JSON file or a folder holding it; images resolve against the folder
    (and its ``images/`` subfolder), never outside it."""
    path = Path(path)
    if path.is_dir():
        json_path = find_coco_json(path)
        if json_path is None:
            raise DatasetError(f"{path}: no COCO annotation file ({', '.join(_CANDIDATES)})")
        root = path
    else:
        json_path, root = path, path.parent
    try:
        coco = json.loads(json_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{json_path}: cannot read COCO JSON ({exc})") from exc
    for key in ("images", "annotations", "categories"):
        if key not in coco:
            raise DatasetError(f"{json_path}: missing key {key!r}")
    names = {c["id"]: c["name"] for c in coco["categories"]}
    by_image: dict[int, list[dict]] = {}
    for ann in coco["annotations"]:
        if ann["category_id"] not in names:
            raise DatasetError(f"{json_path}: annotation {ann.get('id')} has unknown category_id {ann['category_id']}")
        if "bbox" not in ann or len(ann["bbox"]) != 4:
            raise DatasetError(f"{json_path}: annotation {ann.get('id')} has no 'bbox' [x, y, w, h]")
        by_image.setdefault(ann["image_id"], []).append(ann)
    issues = LabelIssues()
    records = []
    for img in coco["images"]:
        image_path = resolve_inside(root, img["file_name"], source=json_path)
        if not image_path.exists() and (root / "images").is_dir():
            image_path = resolve_inside(root / "images", img["file_name"], source=json_path)
        anns = by_image.get(img["id"], [])
        raw = xywh_to_xyxy(np.array([[_float(v) for v in a["bbox"]] for a in anns], np.float64).reshape(-1, 4))
        boxes, keep = clean_boxes(raw, img.get("width"), img.get("height"), issues=issues,
                                  file=f"{json_path.name} image {img['file_name']}")
        kept = [a for a, k in zip(anns, keep) if k]
        ignore = np.array([bool(a.get("iscrowd", 0)) for a in kept], bool)
        issues.add("ignored", json_path.name, int(ignore.sum()))
        segs = [a.get("segmentation") for a in kept]
        records.append(
            Record(
                image_path=image_path,
                image_id=int(img["id"]),
                boxes=boxes[keep],
                labels=[names[a["category_id"]] for a in kept],
                width=img.get("width"),
                height=img.get("height"),
                segmentations=segs if any(s for s in segs) else None,
                meta=img.get("meta", {}),
                ignore=ignore,
                box_attrs=[box_attributes(a) for a in kept],
            )
        )
    classes = [names[k] for k in sorted(names)]
    return LabelledSet(records=records, classes=classes, fmt="coco", root=root, issues=issues)


def _float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")  # counted and dropped by clean_boxes
