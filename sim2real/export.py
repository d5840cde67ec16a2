"""Any labelled set (a sim2real dataset, COCO, VOC, YOLO, BOP) written as YOLO or COCO
(``sim2real-export``, pipeline/export.py).

- ``format=yolo``: the Ultralytics layout, ``data.yaml`` (``path``, ``train``, ``val``,
  ``names``), ``images/<split>/`` and ``labels/<split>/<stem>.txt`` with ``class cx cy w h``
  normalised to the image; it reads back through the project's own YOLO reader with the same
  boxes (to 1e-6 of the image side).
- ``format=coco``: ``annotations.json`` (xywh boxes, ``iscrowd`` for ignore regions) beside
  ``images/``.
Images are copied, never re-encoded. YOLO has no ignore regions: those are left out and counted.
Nothing is written unless the whole set reads; an existing non-empty ``out_dir`` is refused
unless ``overwrite=true``.
"""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import yaml

from sim2real import atomic
from sim2real.errors import ConfigError
from sim2real.readers import load_labelled
from sim2real.records import LabelledSet, Record

log = logging.getLogger(__name__)


def _unique_names(records: list[Record]) -> list[str]:
    """File names for the copies: the image's own name, prefixed where two would collide."""
    seen: dict[str, int] = {}
    names = []
    for r in records:
        name = Path(r.image_path).name
        if name in seen:
            seen[name] += 1
            name = f"{seen[name]:05d}_{name}"
        else:
            seen[name] = 0
        names.append(name)
    return names


def _size(r: Record) -> tuple[int, int]:
    if r.width and r.height:
        return int(r.width), int(r.height)
    from PIL import Image

    with Image.open(r.image_path) as img:
        return img.size


def write_yolo(data: LabelledSet, out: Path, *, split: str = "train", where: Path | None = None) -> dict:
    """Write into ``out``; ``data.yaml``'s ``path`` is ``where`` (the folder the set will end up in)."""
    index = {c: k for k, c in enumerate(data.classes)}
    images, labels = out / "images" / split, out / "labels" / split
    images.mkdir(parents=True)
    labels.mkdir(parents=True)
    boxes = ignored = 0
    for r, name in zip(data.records, _unique_names(data.records)):
        w, h = _size(r)
        shutil.copyfile(r.image_path, images / name)
        ignore = r.ignore if r.ignore is not None else np.zeros(len(r.labels), bool)
        lines = []
        for (x0, y0, x1, y1), label, skip in zip(np.asarray(r.boxes, float).reshape(-1, 4), r.labels, ignore):
            if skip:
                ignored += 1
                continue
            lines.append(f"{index[label]} {(x0 + x1) / 2 / w:.6f} {(y0 + y1) / 2 / h:.6f} {(x1 - x0) / w:.6f} {(y1 - y0) / h:.6f}")
        boxes += len(lines)
        (labels / f"{Path(name).stem}.txt").write_text("".join(f"{line}\n" for line in lines))
    (out / "data.yaml").write_text(yaml.safe_dump({"path": str((where or out).resolve()), "train": f"images/{split}",
                                                   "val": f"images/{split}",
                                                   "names": dict(enumerate(data.classes))}, sort_keys=False))
    return {"images": len(data.records), "boxes": boxes, "ignore_regions_left_out": ignored}


def write_coco(data: LabelledSet, out: Path) -> dict:
    (out / "images").mkdir(parents=True)
    index = {c: k + 1 for k, c in enumerate(data.classes)}
    images, annotations = [], []
    for image_id, (r, name) in enumerate(zip(data.records, _unique_names(data.records)), start=1):
        w, h = _size(r)
        shutil.copyfile(r.image_path, out / "images" / name)
        images.append({"id": image_id, "file_name": f"images/{name}", "width": w, "height": h})
        ignore = r.ignore if r.ignore is not None else np.zeros(len(r.labels), bool)
        for (x0, y0, x1, y1), label, crowd in zip(np.asarray(r.boxes, float).reshape(-1, 4), r.labels, ignore):
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": index[label],
                                "bbox": [round(x0, 3), round(y0, 3), round(x1 - x0, 3), round(y1 - y0, 3)],
                                "area": round((x1 - x0) * (y1 - y0), 3), "iscrowd": int(bool(crowd))})
    atomic.write_json(out / "annotations.json", {"images": images, "annotations": annotations, "categories": [
        {"id": k, "name": c} for c, k in index.items()]})
    return {"images": len(images), "boxes": len(annotations), "ignore_regions_left_out": 0}


def staged(out: Path, overwrite: bool) -> Path:
    """A fresh folder beside ``out`` to write into, then ``publish``; a non-empty ``out`` is refused."""
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ConfigError(f"out_dir={out}: not empty; choose another out_dir or set overwrite=true")
    staging = out.with_name(f".{out.name}.exporting")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    return staging


def publish(staging: Path, out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    staging.replace(out)


def export_dataset(dataset: str, out_dir: str, fmt: str, *, split: str | None = None, name: str = "train",
                   overwrite: bool = False) -> dict:
    """Write ``dataset`` as ``fmt`` (yolo | coco) into ``out_dir``; returns the summary (also export.json)."""
    out = Path(out_dir)
    data = load_labelled(dataset, split=split, key="dataset")  # all of it reads before anything is written
    if not data.records:
        raise ConfigError(f"dataset={dataset}: holds no images")
    staging = staged(out, overwrite)
    summary = write_yolo(data, staging, split=name, where=out) if fmt == "yolo" else write_coco(data, staging)
    publish(staging, out)
    summary = {"format": fmt, "source": str(dataset), "classes": data.classes, **summary,
               "source_skipped": data.skipped}
    (out / "export.json").write_text(json.dumps(summary, indent=1))
    log.info("exported %d images, %d boxes (%s) to %s%s", summary["images"], summary["boxes"], fmt, out,
             f"; {summary['ignore_regions_left_out']} ignore regions left out (YOLO has none)"
             if summary["ignore_regions_left_out"] else "")
    return summary
