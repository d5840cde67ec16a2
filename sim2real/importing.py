"""Bring user data to the render resolution, as datasets in the contract.

The rule (documented in README): scale the image so its shorter side equals the resolution
(bilinear, area filter when shrinking), then centre-crop to ``resolution x resolution``. Boxes
are scaled and shifted the same way and clipped to the crop; a box that keeps less than
``min_visible`` of its area after clipping is dropped (counted in the manifest). Unreadable
images are counted and skipped with a warning.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from PIL import Image

from sim2real.dataset import DatasetWriter, SimDataset, fingerprint
from sim2real.images import SkipCounter
from sim2real.readers import load_labelled

log = logging.getLogger(__name__)


def fit_square(image: np.ndarray, boxes: np.ndarray, resolution: int, *, min_visible: float = 0.5
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Resize-shorter-side-then-centre-crop; returns (image, boxes xyxy, kept box mask)."""
    h, w = image.shape[:2]
    scale = resolution / min(h, w)
    nw, nh = max(resolution, round(w * scale)), max(resolution, round(h * scale))
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    resized = np.asarray(Image.fromarray(image).resize((nw, nh), resample))
    x0, y0 = (nw - resolution) // 2, (nh - resolution) // 2
    crop = np.ascontiguousarray(resized[y0:y0 + resolution, x0:x0 + resolution])
    b = boxes.astype(np.float64).reshape(-1, 4) * np.array([nw / w, nh / h, nw / w, nh / h])
    b -= np.array([x0, y0, x0, y0])
    clipped = np.clip(b, 0, resolution)
    area = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    kept_area = np.prod(np.clip(clipped[:, 2:] - clipped[:, :2], 0, None), axis=1)
    keep = (kept_area > 0) & (kept_area >= min_visible * np.maximum(area, 1e-9))
    return crop, clipped[keep].astype(np.float32), keep


def import_labelled(source: Path | str, out: Path | str, *, resolution: int, classes: Sequence[str],
                    class_map: Mapping[str, str] | None = None, split: str | None = None,
                    min_visible: float = 0.5) -> SimDataset:
    """Write ``source`` (any supported format) as a ``real`` dataset at ``resolution``."""
    data = load_labelled(source, classes=classes, class_map=class_map, split=split)
    out = Path(out)
    key = {"source": str(Path(source).resolve()), "resolution": resolution, "classes": list(classes),
           "class_map": dict(class_map or {}), "split": split, "min_visible": min_visible}
    manifest = out / "dataset.json"
    if manifest.is_file():
        existing = SimDataset(out) if (out / "annotations.json").is_file() else None
        if existing is not None and existing.manifest.status == "complete" and existing.manifest.fingerprint == fingerprint(key):
            return existing
    writer = DatasetWriter(out, name=out.name, kind="real", classes=classes, num_images=len(data),
                           config=key, provenance={"source": str(source), "format": data.fmt,
                                                   "unmapped": dict(data.unmapped)}, overwrite=True)
    cat = writer.category_ids
    reader = SkipCounter(f"images in {source}")
    dropped = written = 0
    for index, rec in enumerate(data.records):
        image = reader.read(rec.image_path)
        if image is None:
            continue
        crop, boxes, keep = fit_square(image, rec.boxes, resolution, min_visible=min_visible)
        dropped += int((~keep).sum())
        labels = [name for name, k in zip(rec.labels, keep) if k]
        anns = [{"category_id": cat[name], "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
                 "area": float((x1 - x0) * (y1 - y0)), "iscrowd": 0, "instance_id": i + 1}
                for i, (name, (x0, y0, x1, y1)) in enumerate(zip(labels, boxes))]
        writer.add(written, image=crop, mask=None, annotations=anns,
                   meta={**rec.meta, "source_file": rec.image_path.name})
        written += 1
    reader.report()
    writer.manifest.num_images = written
    writer.manifest.provenance.update({"skipped_images": len(reader.skipped), "dropped_boxes": dropped})
    writer.finalize()
    if dropped:
        log.info("%s: %d boxes fell mostly outside the centre crop and were dropped", source, dropped)
    return SimDataset(out, require_complete=True)



def import_unlabelled(source: Path | str, out: Path | str, *, resolution: int) -> Path:
    """Write every readable image of ``source`` (folder or any labelled set) to ``out`` as
    ``resolution``-square PNGs by the same rule; returns ``out``. Reuses a finished import."""
    from sim2real import atomic
    from sim2real.images import write_png
    from sim2real.readers import load_unlabelled

    out = Path(out)
    key = fingerprint({"source": str(Path(source).resolve()), "resolution": resolution})
    done = out / ".import.json"
    if done.is_file() and done.read_text().strip() == key:
        return out
    reader = SkipCounter(f"real images in {source}")
    written = 0
    for path in load_unlabelled(source):
        image = reader.read(path)
        if image is None:
            continue
        crop, _, _ = fit_square(image, np.zeros((0, 4)), resolution)
        write_png(out / f"{written:06d}.png", crop)
        written += 1
    reader.report()
    if written == 0:
        from sim2real.errors import DatasetError

        raise DatasetError(f"{source}: none of its images could be read")
    atomic.write_text(done, key)
    return out
