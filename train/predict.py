"""``sim2real-predict``: a trained detector on a folder of photos or a labelled set.

Writes into ``out_dir``:
- ``detections.json``: COCO results (``image_id``, ``category_id``, ``bbox`` xywh, ``score``) of
  every box at ``score_threshold`` or above, with ``images.json`` (COCO ``images`` and
  ``categories``) naming the files;
- ``images/<stem>.jpg``: each photo with its boxes drawn (``draw=true``);
- ``metrics.json`` on a labelled set: mAP50, mAP, per class, from every prediction (labels the
  detector does not know are dropped and counted).
Any image size and mode: the detector's own transform resizes to its input size, aspect kept,
and maps boxes back to the photo's pixels.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from omegaconf import DictConfig

from sim2real import atomic
from sim2real.errors import ConfigError
from sim2real.images import UnreadableImage, read_rgb
from sim2real.readers import load_labelled
from sim2real.records import Record
from train.checkpoint import LoadedDetector, load_detector

log = logging.getLogger(__name__)


def detect(det: LoadedDetector, paths: Sequence[Path], *, batch_size: int = 8, progress: bool = True,
           device: str = "cpu") -> tuple[list[dict | None], list[tuple[int, int] | None]]:
    """``{boxes, scores, labels}`` per image in photo pixels (None for an unreadable file), and (w, h)."""
    from rich.progress import track

    preds: list[dict | None] = []
    sizes: list[tuple[int, int] | None] = []
    batches = [list(paths[i:i + batch_size]) for i in range(0, len(paths), batch_size)]
    det.model.eval().to(device)
    for batch in (track(batches, description="predict") if progress else batches):
        images, slots = [], []
        for path in batch:
            try:
                rgb = read_rgb(path)
            except UnreadableImage as exc:
                log.warning("skipping %s", exc)
                slots.append(None)
                continue
            slots.append(len(images))
            images.append(torch.from_numpy(np.array(rgb)).permute(2, 0, 1).float().div(255).to(device))
        with torch.no_grad():
            out = det.model(images) if images else []
        for slot in slots:
            if slot is None:
                preds.append(None)
                sizes.append(None)
            else:
                p = out[slot]
                preds.append({k: p[k].detach().cpu() for k in ("boxes", "scores", "labels")})
                sizes.append((int(images[slot].shape[2]), int(images[slot].shape[1])))
    return preds, sizes


def coco_results(preds: Sequence[dict | None], threshold: float) -> list[dict]:
    out = []
    for image_id, p in enumerate(preds, start=1):
        if p is None:
            continue
        for box, score, label in zip(p["boxes"].tolist(), p["scores"].tolist(), p["labels"].tolist()):
            if score >= threshold:
                x0, y0, x1, y1 = box
                out.append({"image_id": image_id, "category_id": int(label), "score": round(float(score), 5),
                            "bbox": [round(x0, 2), round(y0, 2), round(x1 - x0, 2), round(y1 - y0, 2)]})
    return out


def draw(path: Path, pred: dict, classes: Sequence[str], threshold: float, out: Path) -> None:
    from PIL import Image, ImageDraw

    img = Image.fromarray(read_rgb(path))
    pen = ImageDraw.Draw(img)
    width = max(1, round(max(img.size) / 400))
    for box, score, label in zip(pred["boxes"].tolist(), pred["scores"].tolist(), pred["labels"].tolist()):
        if score < threshold:
            continue
        name = classes[label - 1] if 0 < label <= len(classes) else str(label)
        pen.rectangle(box, outline=(255, 40, 40), width=width)
        pen.text((box[0] + 2, max(0, box[1] - 11)), f"{name} {score:.2f}", fill=(255, 255, 0))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.part")
    img.save(tmp, format="JPEG", quality=90)
    tmp.replace(out)


def targets_of(records: Sequence[Record], classes: Sequence[str]) -> tuple[list[dict], dict[str, int]]:
    """Ground truth as the detector's labels (class k -> k+1); unknown labels dropped, counted."""
    index = {c: k + 1 for k, c in enumerate(classes)}
    dropped: dict[str, int] = {}
    targets = []
    for r in records:
        ignore = r.ignore if r.ignore is not None else np.zeros(len(r.labels), bool)
        keep = [i for i, name in enumerate(r.labels) if name in index]
        for name in r.labels:
            if name not in index:
                dropped[name] = dropped.get(name, 0) + 1
        boxes = np.asarray(r.boxes, np.float32).reshape(-1, 4)[keep]
        targets.append({"boxes": torch.from_numpy(boxes), "labels": torch.tensor([index[r.labels[i]] for i in keep]),
                        "iscrowd": torch.from_numpy(np.asarray(ignore, bool)[keep].astype(np.int64))})
    return targets, dropped


def run(cfg: DictConfig) -> dict[str, Any]:
    from train.evaluate import coco_metrics

    det = load_detector(cfg.ckpt)  # a bad checkpoint fails before anything is read or written
    data = load_labelled(cfg.images, split=cfg.split, key="images")
    if not data.records:
        raise ConfigError(f"images={cfg.images}: holds no images")
    labelled = data.fmt != "folder" and any(len(r.labels) for r in data.records)
    paths = [r.image_path for r in data.records]
    log.info("%s (%s, %d classes, input %d px) on %d images of %s%s", det.name, det.path, len(det.classes),
             det.image_size, len(paths), cfg.images, f" ({data.fmt}, labelled)" if labelled else "")
    preds, sizes = detect(det, paths, batch_size=int(cfg.batch_size), progress=bool(cfg.progress), device=cfg.device)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    threshold = float(cfg.score_threshold)
    results = coco_results(preds, threshold)
    images = [{"id": i, "file_name": str(p), "width": s[0], "height": s[1]}
              for i, (p, s) in enumerate(zip(paths, sizes), start=1) if s is not None]
    atomic.write_json(out / "detections.json", results)
    atomic.write_json(out / "images.json", {"images": images, "categories": [
        {"id": k + 1, "name": c} for k, c in enumerate(det.classes)]}, indent=1)
    unreadable = sum(p is None for p in preds)
    if cfg.draw:
        for path, pred in zip(paths, preds):
            if pred is not None:
                draw(path, pred, det.classes, threshold, out / "images" / f"{Path(path).stem}.jpg")
    summary: dict[str, Any] = {"images": len(paths), "unreadable": unreadable, "boxes": len(results),
                               "score_threshold": threshold, "checkpoint": str(det.path)}
    if labelled:
        targets, dropped = targets_of(data.records, det.classes)
        kept = [(p, t) for p, t in zip(preds, targets) if p is not None]
        if dropped:
            log.warning("labels the detector does not know, dropped: %s", dropped)
        metrics = coco_metrics([p for p, _ in kept], [t for _, t in kept], det.classes)
        summary.update({"metrics": metrics, "dropped_labels": dropped})
        atomic.write_json(out / "metrics.json", summary, indent=2)
        log.info("mAP50 %.3f, mAP %.3f on %d images", metrics["map50"] or 0.0, metrics["map"] or 0.0, len(kept))
    if unreadable:
        log.warning("%d unreadable image(s) skipped", unreadable)
    log.info("%d boxes at score >= %s: %s", len(results), threshold, out / "detections.json")
    return summary
