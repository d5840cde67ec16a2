"""Metrics per slice of the test set, and slice checks that act as unit tests for the model.

A slice definition (``sim2real/conf/slices/``) has a ``key``:
- a dotted path into the image ``meta`` (``background.kind``, ``lighting.kind``, ``num_objects``):
  an image-level slice takes the images whose value falls in it;
- ``box.<attribute>`` (``box.size``, ``box.class``, ``box.occlusion``, any annotation field):
  a box-level slice scores the boxes in it; the other true boxes become "ignore" regions (COCO
  crowd semantics, so detecting them is neither rewarded nor punished), and for ``box.size``
  predictions outside the size bin are ignored too, as COCO does for its area ranges.
Numeric values are binned with ``bins`` (edges) and named with ``labels``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from sim2real.errors import ConfigError
from train.evaluate import coco_metrics
from train.sources import Sample

log = logging.getLogger(__name__)

BOX = "box."


@dataclass
class SliceResult:
    name: str
    value: str
    images: int
    boxes: int
    metrics: dict
    threshold: float | None = None
    checked: bool = False
    passed: bool = True

    @property
    def label(self) -> str:
        return f"{self.name}={self.value}"


@dataclass
class SliceReport:
    metric: str
    results: list[SliceResult] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # definitions no test image carries

    @property
    def failing(self) -> list[SliceResult]:
        return [r for r in self.results if r.checked and not r.passed]

    def flat(self, prefix: str = "test/slice") -> dict:
        """``test/slice/<name>=<value>/<metric>`` for metrics.json and W&B."""
        out: dict = {}
        for r in self.results:
            for k in ("map50", "map", "map75", "mar_100"):
                out[f"{prefix}/{r.label}/{k}"] = r.metrics.get(k)
            out[f"{prefix}/{r.label}/boxes"] = r.boxes
        return out

    def rows(self) -> list[dict]:
        return [{"slice": r.name, "value": r.value, "images": r.images, "boxes": r.boxes,
                 "map50": r.metrics.get("map50"), "map": r.metrics.get("map"),
                 "threshold": r.threshold, "status": ("FAIL" if not r.passed else "ok") if r.checked else "-"}
                for r in self.results]


def lookup(meta: dict, path: str) -> Any:
    """``meta["lighting"]["kind"]`` for ``"lighting.kind"``; None when absent."""
    node: Any = meta
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def bin_label(value: Any, sdef: Any) -> str | None:
    """The slice value of a raw value: a bin name for numbers with ``bins``, else ``str``."""
    if value is None:
        return None
    if sdef.bins:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        edges = list(sdef.bins)
        i = int(np.searchsorted(edges, float(value), side="right")) - 1
        if i < 0 or i >= len(edges) - 1:
            return None
        if sdef.labels and len(sdef.labels) == len(edges) - 1:
            return str(sdef.labels[i])
        return f"[{edges[i]:g},{edges[i + 1]:g})"
    if isinstance(value, (dict, list)):
        return None
    return str(value)


def _box_size(boxes: torch.Tensor, sample: Sample, relative: bool) -> torch.Tensor:
    side = (boxes[:, 2] - boxes[:, 0]).clamp(min=0) * (boxes[:, 3] - boxes[:, 1]).clamp(min=0)
    size = side.sqrt()
    if relative:
        rec = sample.record
        size = size / float(max(rec.width or 0, rec.height or 0) or 1)
    return size


def _box_values(sample: Sample, target: dict, sdef: Any, classes: Sequence[str]) -> list[str | None]:
    attr = sdef.key[len(BOX):]
    if attr == "size":
        return [bin_label(float(v), sdef) for v in _box_size(target["boxes"], sample, sdef.relative)]
    if attr == "class":
        return [classes[int(label) - 1] for label in target["labels"]]
    return [bin_label(a.get(attr), sdef) for a in sample.box_attrs] if len(sample.box_attrs) == len(target["labels"]) \
        else [None] * len(target["labels"])


def _box_slice(samples, preds, targets, sdef, classes, value) -> tuple[list, list, int]:
    attr = sdef.key[len(BOX):]
    new_preds, new_targets, count = [], [], 0
    for sample, pred, tgt in zip(samples, preds, targets):
        values = _box_values(sample, tgt, sdef, classes)
        inside = torch.tensor([v == value for v in values], dtype=torch.bool)
        ignored = tgt["iscrowd"].bool() if "iscrowd" in tgt else torch.zeros_like(inside)
        count += int((inside & ~ignored).sum())
        if attr == "class":
            label = classes.index(value) + 1
            new_targets.append({"boxes": tgt["boxes"][inside], "labels": tgt["labels"][inside],
                                "iscrowd": ignored[inside].long()})
            keep = pred["labels"] == label
        else:
            new_targets.append({"boxes": tgt["boxes"], "labels": tgt["labels"], "iscrowd": (~inside | ignored).long()})
            keep = torch.ones(len(pred["labels"]), dtype=torch.bool)
            if attr == "size":
                keep = torch.tensor([bin_label(float(v), sdef) == value
                                     for v in _box_size(pred["boxes"], sample, sdef.relative)], dtype=torch.bool)
        new_preds.append({k: v[keep] for k, v in pred.items()})
    return new_preds, new_targets, count


def _positives(target: dict) -> int:
    """True boxes of a target that are not ignore regions."""
    return len(target["labels"]) - int(target["iscrowd"].sum()) if "iscrowd" in target else len(target["labels"])


def compute_slices(samples: Sequence[Sample], preds: Sequence[dict], targets: Sequence[dict],
                   classes: Sequence[str], cfg: Any) -> SliceReport:
    """Metrics of every value of every configured slice, with thresholds applied."""
    report = SliceReport(metric=str(cfg.metric))
    for name, sdef in cfg.definitions.items():
        box_level = sdef.key.startswith(BOX)
        if box_level:
            per_image = [_box_values(s, t, sdef, classes) for s, t in zip(samples, targets)]
            values = sorted({v for vs in per_image for v in vs if v is not None}, key=_order(sdef))
        else:
            per_image = [bin_label(lookup(s.record.meta, sdef.key), sdef) for s in samples]
            values = sorted({v for v in per_image if v is not None}, key=_order(sdef))
        if not values:
            report.missing.append(name)
            continue
        for value in values:
            if box_level:
                p, t, n_boxes = _box_slice(samples, preds, targets, sdef, classes, value)
                n_images = sum(1 for vs in per_image if value in vs)
            else:
                idx = [i for i, v in enumerate(per_image) if v == value]
                p, t = [preds[i] for i in idx], [targets[i] for i in idx]
                n_boxes, n_images = sum(_positives(x) for x in t), len(idx)
            metrics = coco_metrics(p, t, classes, per_class=False) if n_boxes else {}
            report.results.append(SliceResult(name, value, n_images, n_boxes,
                                              {k: metrics.get(k) for k in ("map50", "map", "map75", "mar_100")}))
    _apply_thresholds(report, cfg)
    if report.missing:
        log.info("slices without values in the test set (no such meta/attribute): %s", report.missing)
    return report


def _order(sdef: Any):
    labels = [str(x) for x in (sdef.labels or [])]
    return lambda v: (labels.index(v) if v in labels else len(labels), v)


def _threshold(thresholds: Any, name: str, value: str) -> float | None:
    """``{slice: minimum}`` or ``{slice: {value: minimum}}``."""
    entry = (thresholds or {}).get(name)
    if entry is None:
        return None
    if isinstance(entry, (int, float)):
        return float(entry)
    try:
        own = dict(entry).get(value)
    except (TypeError, ValueError):
        raise ConfigError(f"slices.thresholds.{name} must be a number or {{value: number}}, got {entry!r}") from None
    return None if own is None else float(own)


def _apply_thresholds(report: SliceReport, cfg: Any) -> None:
    for r in report.results:
        sdef = cfg.definitions[r.name]
        r.threshold = next((float(t) for t in (_threshold(cfg.thresholds, r.name, r.value), sdef.min, cfg.default_min)
                            if t is not None), None)
        value = r.metrics.get(report.metric)
        r.checked = r.threshold is not None and r.boxes >= int(cfg.min_boxes) and value is not None
        r.passed = not r.checked or value >= r.threshold
