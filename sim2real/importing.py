"""Bring user data to the working resolution, as datasets in the contract.

The rule (``fit``, documented in README): ``keep`` (the default) scales the image so its
longer side equals the resolution and keeps its aspect ratio, so nothing is cut and every box
is kept; ``letterbox`` does the same and pads to a square (grey 114, as YOLO does);
``crop`` (the old rule) scales the shorter side to the resolution and centre-crops a square,
dropping boxes that keep less than ``min_visible`` of their area (counted). Bilinear
resampling, area filter when shrinking. Unreadable images are counted and skipped; every
fix the readers made to the labels is counted too, printed, and stored in the manifest.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from PIL import Image

from sim2real.dataset import DatasetWriter, DatasetReader, fingerprint
from sim2real.errors import ConfigError, DatasetError
from sim2real.images import SkipCounter
from sim2real.readers import load_labelled

log = logging.getLogger(__name__)

FIT_RULES = ("keep", "letterbox", "crop")
PAD_VALUE = 114
IMPORT_VERSION = 2  # bump when the rule or the written fields change: older imports are redone


def fitted_size(width: int, height: int, resolution: int, rule: str) -> tuple[int, int, float]:
    """(new width, new height, scale) of an image under ``rule`` (before any crop or pad)."""
    if rule not in FIT_RULES:
        raise ConfigError(f"data.fit must be one of {FIT_RULES}, got {rule!r}")
    scale = resolution / (min(width, height) if rule == "crop" else max(width, height))
    nw, nh = max(1, round(width * scale)), max(1, round(height * scale))
    if rule == "crop":
        nw, nh = max(resolution, nw), max(resolution, nh)
    return nw, nh, scale


def fit_image(image: np.ndarray, boxes: np.ndarray, resolution: int, *, rule: str = "keep",
              min_visible: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Resize (and crop or pad) by ``rule``; returns (image, boxes xyxy kept, kept-box mask)."""
    h, w = image.shape[:2]
    nw, nh, scale = fitted_size(w, h, resolution, rule)
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    resized = np.asarray(Image.fromarray(image).resize((nw, nh), resample))
    b = boxes.astype(np.float64).reshape(-1, 4) * np.array([nw / w, nh / h, nw / w, nh / h])
    if rule == "keep":
        return np.ascontiguousarray(resized), b.astype(np.float32), np.ones(len(b), bool)
    if rule == "letterbox":
        canvas = np.full((resolution, resolution, 3), PAD_VALUE, np.uint8)
        x0, y0 = (resolution - nw) // 2, (resolution - nh) // 2
        canvas[y0:y0 + nh, x0:x0 + nw] = resized
        return canvas, (b + np.array([x0, y0, x0, y0])).astype(np.float32), np.ones(len(b), bool)
    x0, y0 = (nw - resolution) // 2, (nh - resolution) // 2
    crop = np.ascontiguousarray(resized[y0:y0 + resolution, x0:x0 + resolution])
    b -= np.array([x0, y0, x0, y0])
    clipped = np.clip(b, 0, resolution)
    area = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    kept_area = np.prod(np.clip(clipped[:, 2:] - clipped[:, :2], 0, None), axis=1)
    keep = (kept_area > 0) & (kept_area >= min_visible * np.maximum(area, 1e-9))
    return crop, clipped[keep].astype(np.float32), keep


def fit_square(image: np.ndarray, boxes: np.ndarray, resolution: int, *, min_visible: float = 0.5):
    """The old rule: shorter side to ``resolution``, centre crop (``fit_image(rule="crop")``)."""
    return fit_image(image, boxes, resolution, rule="crop", min_visible=min_visible)


def _annotations(rec, keep: np.ndarray, boxes: np.ndarray, cat: Mapping[str, int]) -> list[dict]:
    kept = np.flatnonzero(keep)
    anns = []
    for j, (i, (x0, y0, x1, y1)) in enumerate(zip(kept, boxes)):
        ann = {"category_id": cat[rec.labels[i]], "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
               "area": float((x1 - x0) * (y1 - y0)), "iscrowd": int(rec.ignore[i]), "instance_id": j + 1}
        if rec.box_attrs is not None:
            ann.update({k: v for k, v in rec.box_attrs[i].items() if k not in ann})
        anns.append(ann)
    return anns


def import_labelled(source: Path | str, out: Path | str, *, resolution: int, fit: str = "keep",
                    classes: Sequence[str] | None = None, class_map: Mapping[str, str] | None = None,
                    ignore_labels: Sequence[str] = (), split: str | None = None, min_visible: float = 0.5,
                    subset: Sequence[int] | None = None, key: str = "data", **options: Any) -> DatasetReader:
    """Write ``source`` (any labelled layout) as a ``real`` dataset at ``resolution`` by rule ``fit``.

    Without ``classes`` the set keeps its own label names (the detector stage maps them); with
    them, labels are mapped here (``sim2real.records.map_classes``). ``subset``: the indices of
    the records to import (a split of one set). ``options`` go to the reader.
    """
    fitted_size(1, 1, resolution, fit)  # a bad rule fails before any reading
    data = load_labelled(source, classes=classes, class_map=class_map, ignore_labels=ignore_labels, split=split,
                         labelled=True, key=key, **options)
    if subset is not None:
        data = replace(data, records=[data.records[i] for i in subset])
    out = Path(out)
    config = {"source": str(Path(source).resolve()), "resolution": resolution, "fit": fit, "split": split,
              "subset": list(map(int, subset)) if subset is not None else None,
              "classes": list(classes) if classes is not None else None, "class_map": dict(class_map or {}),
              "ignore_labels": sorted(ignore_labels), "min_visible": min_visible, "version": IMPORT_VERSION,
              "options": {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in sorted(options.items())}}
    existing = _finished(out, config)
    if existing is not None:
        return existing
    writer = DatasetWriter(out, name=out.name, kind="real", classes=data.classes, num_images=len(data),
                           config=config, provenance={"source": str(source), "format": data.fmt, "split": split,
                                                      "fit": fit, "unmapped": dict(data.unmapped)}, overwrite=True)
    reader = SkipCounter(f"images in {source}")
    counts = {"boxes_in": data.num_boxes, "boxes_written": 0, "ignore_regions": 0, "dropped_by_crop": 0}
    written = 0
    for rec in data.records:
        image = reader.read(rec.image_path)
        if image is None:
            continue
        fitted, boxes, keep = fit_image(image, rec.boxes, resolution, rule=fit, min_visible=min_visible)
        counts["dropped_by_crop"] += int((~keep).sum())
        anns = _annotations(rec, keep, boxes, writer.category_ids)
        counts["boxes_written"] += len(anns)
        counts["ignore_regions"] += sum(a["iscrowd"] for a in anns)
        writer.add(written, image=fitted, mask=None, annotations=anns,
                   meta={**rec.meta, "source_file": _source_name(rec.image_path, data.root),
                         "source_size": list(image.shape[1::-1])})
        written += 1
    reader.report()
    data.issues.report(source)
    writer.manifest.num_images = written
    writer.manifest.provenance.update({"images_in": len(data), "images_written": written,
                                       "skipped_images": len(reader.skipped), **counts,
                                       "label_issues": data.issues.as_dict()})
    writer.finalize()
    log.info("imported %s (%s%s) -> %s: %d of %d images, %d boxes (%d ignore regions); %d unreadable images skipped, "
             "%d boxes dropped by the crop, %d lost by the readers (see above)", source, data.fmt,
             f", split {split}" if split else "", out, written, len(data), counts["boxes_written"],
             counts["ignore_regions"], len(reader.skipped), counts["dropped_by_crop"], data.issues.lost())
    return DatasetReader(out, require_complete=True)


def _source_name(image: Path, root: Path) -> str:
    """The image's path relative to its set's root (its name alone when outside it)."""
    try:
        return str(Path(image).resolve().relative_to(Path(root).resolve()))
    except ValueError:
        return Path(image).name


def _finished(out: Path, config: dict) -> DatasetReader | None:
    """The dataset already imported into ``out`` with this config, if there is one."""
    if not (out / "dataset.json").is_file() or not (out / "annotations.json").is_file():
        return None
    try:
        existing = DatasetReader(out)
    except DatasetError:
        return None
    if existing.manifest.status == "complete" and existing.manifest.fingerprint == fingerprint(config):
        return existing
    return None


def import_unlabelled(source: Path | str, out: Path | str, *, resolution: int, fit: str = "keep",
                      split: str | None = None, **options: Any) -> Path:
    """Write every readable image of ``source`` (folder or any labelled set) to ``out`` as PNGs
    by the rule ``fit``; returns ``out``. Reuses a finished import."""
    from sim2real import atomic
    from sim2real.images import write_png
    from sim2real.readers import load_unlabelled

    fitted_size(1, 1, resolution, fit)
    out = Path(out)
    key = fingerprint({"source": str(Path(source).resolve()), "resolution": resolution, "fit": fit, "split": split,
                       "version": IMPORT_VERSION, "options": {k: str(v) for k, v in sorted(options.items())}})
    done = out / ".import.json"
    if done.is_file() and done.read_text().strip() == key:
        return out
    reader = SkipCounter(f"real images in {source}")
    written = 0
    for path in load_unlabelled(source, split=split, **options):
        image = reader.read(path)
        if image is None:
            continue
        fitted, _, _ = fit_image(image, np.zeros((0, 4)), resolution, rule=fit)
        write_png(out / f"{written:06d}.png", fitted)
        written += 1
    reader.report()
    if written == 0:
        raise DatasetError(f"{source}: none of its images could be read")
    for stale in sorted(out.glob("*.png"))[written:]:  # an earlier import of more images
        stale.unlink()
    atomic.write_text(done, key)
    log.info("imported %d unlabelled images of %s -> %s (%d unreadable skipped)", written, source, out,
             len(reader.skipped))
    return out
