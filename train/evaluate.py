"""Prediction and COCO metrics (torchmetrics ``MeanAveragePrecision``, faster_coco_eval backend).

``predict`` runs the model once over a set; metrics of the whole set and of every slice are
then computed from the stored predictions, so slicing never runs the model again.
"""
from __future__ import annotations

import logging
import math
import warnings
from typing import Sequence

import numpy as np
import torch
from rich.progress import track
from torch import nn
from torch.utils.data import DataLoader
from torchmetrics.detection import MeanAveragePrecision

log = logging.getLogger(__name__)
logging.getLogger("faster_coco_eval").setLevel(logging.WARNING)  # it prints the COCO summary per call

BACKEND = "faster_coco_eval"
SUMMARY = {"map": "map", "map50": "map_50", "map75": "map_75", "mar_100": "mar_100",
           "map_small": "map_small", "map_medium": "map_medium", "map_large": "map_large"}


@torch.no_grad()
def predict(model: nn.Module, loader: DataLoader, *, device: torch.device | str = "cpu",
            progress: bool = False) -> list[dict]:
    """One ``{boxes, scores, labels}`` dict (CPU tensors) per image, in loader order."""
    was_training = model.training
    model.eval().to(device)
    out: list[dict] = []
    batches = track(loader, description="predict", transient=True) if progress else loader
    for images, _ in batches:
        for pred in model([im.to(device) for im in images]):
            out.append({k: pred[k].detach().float().cpu() if k != "labels" else pred[k].cpu()
                        for k in ("boxes", "scores", "labels")})
    model.train(was_training)
    return out


def _clean(value: float) -> float | None:
    return None if value is None or math.isnan(value) or value < 0 else round(float(value), 6)


def coco_metrics(preds: Sequence[dict], targets: Sequence[dict], classes: Sequence[str], *,
                 pr_curves: bool = False, per_class: bool = True) -> dict:
    """mAP, mAP50, mAP75, AR@100, per-class AP and AP50 (``ap/<class>``, ``ap50/<class>``).

    With ``pr_curves``, ``_pr`` holds ``{class: (recall, precision)}`` at IoU 0.5.
    Undefined values (no true box of a class) are ``None``. ``per_class=False`` returns the
    summary only, ~40 % faster (what per-slice metrics need).
    """
    per_class = per_class or pr_curves
    metric = MeanAveragePrecision(box_format="xyxy", iou_type="bbox", class_metrics=per_class,
                                  backend=BACKEND, extended_summary=per_class,
                                  sync_on_compute=False)  # local: after DDP only rank 0 evaluates
    tgts = [{"boxes": t["boxes"], "labels": t["labels"], **({"iscrowd": t["iscrowd"]} if "iscrowd" in t else {})}
            for t in targets]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metric.update(list(preds), tgts)
        res = metric.compute()
    out: dict = {name: _clean(float(res[key])) for name, key in SUMMARY.items()}
    if not per_class:
        return out
    present = [int(c) for c in torch.atleast_1d(res["classes"]).tolist()]
    precision = res.get("precision")  # T x R x K x A x M
    ap_of = dict(zip(present, torch.atleast_1d(res["map_per_class"]).tolist()))
    pr: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for label, name in enumerate(classes, start=1):
        out[f"ap/{name}"] = _clean(ap_of[label]) if label in ap_of else None
        out[f"ap50/{name}"] = None
        if precision is not None and label in present and precision.ndim == 5:
            curve = precision[0, :, present.index(label), 0, -1].numpy()
            if (curve > -1).any():
                out[f"ap50/{name}"] = _clean(float(curve[curve > -1].mean()))
                pr[name] = (np.linspace(0, 1, curve.shape[0]), np.where(curve < 0, 0.0, curve))
    if pr_curves:
        out["_pr"] = pr
    return out


def prefixed(metrics: dict, prefix: str) -> dict:
    """``{"map50": x}`` -> ``{"test/map50": x}``; private keys (``_pr``) are left out."""
    return {f"{prefix}/{k}": v for k, v in metrics.items() if not k.startswith("_")}
