"""Self-training on unlabelled real photos (``pseudo.*``): the detector trained so far labels
them, and one more phase trains on its confident boxes beside the labelled data.

Hard pseudo-labels above ``pseudo.threshold`` (as in STAC, Sohn et al. 2020), trained under the
phase's usual augmentation. A photo with no confident box is left out rather than taught as
background (its objects were more likely missed than absent). Photos in the labelled real part
and in the test set never get pseudo-labels: the test split stays unseen, and a labelled photo
keeps its true labels.
"""
from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Sequence

import torch

from sim2real.errors import ConfigError
from sim2real.readers import load_labelled
from sim2real.records import Record
from train.data import DetectionDataset, eval_loader
from train.evaluate import predict
from train.plan import Part
from train.sources import Sample

log = logging.getLogger(__name__)


def check(cfg) -> None:
    p = cfg.pseudo
    if not p.source:
        return
    if not 0.0 < p.threshold < 1.0:
        raise ConfigError(f"pseudo.threshold must lie in (0, 1), got {p.threshold}")
    if not 0.0 < p.share < 1.0:
        raise ConfigError(f"pseudo.share must lie in (0, 1), got {p.share}")
    if p.rounds < 1:
        raise ConfigError(f"pseudo.rounds must be at least 1, got {p.rounds}")
    if not Path(p.source).exists():
        raise ConfigError(f"pseudo.source: {p.source} does not exist")


def unlabelled_records(source: str | Path, exclude: set[Path]) -> list[Record]:
    """The source's images (any layout; labels ignored), minus the ``exclude``d files."""
    data = load_labelled(source, key="pseudo.source")
    keep = [r for r in data.records if Path(r.image_path).resolve() not in exclude]
    return [Record(image_path=r.image_path, image_id=i + 1, width=r.width, height=r.height) for i, r in enumerate(keep)]


@torch.no_grad()
def pseudo_part(model: torch.nn.Module, records: Sequence[Record], classes: Sequence[str], *, threshold: float,
                batch_size: int, device: str, name: str) -> tuple[Part, dict]:
    """A training part of the records, labelled by ``model``'s detections at or above ``threshold``."""
    samples = [Sample(record=r, box_attrs=[], source=name) for r in records]
    preds = predict(model, eval_loader(DetectionDataset(samples, classes, scoring=True), batch_size=batch_size),
                    device=device, progress=True)
    labelled, per_class = [], Counter()
    for sample, pred in zip(samples, preds):
        keep = pred["scores"] >= threshold
        if not keep.any():
            continue
        names = [classes[int(k) - 1] for k in pred["labels"][keep]]
        per_class.update(names)
        rec = Record(image_path=sample.record.image_path, image_id=sample.record.image_id,
                     boxes=pred["boxes"][keep].numpy(), labels=names, width=sample.record.width,
                     height=sample.record.height)
        labelled.append(Sample(record=rec, box_attrs=[{} for _ in names], source=name))
    stats = {"photos": len(samples), "photos_labelled": len(labelled), "boxes": sum(per_class.values()),
             "per_class": dict(per_class), "threshold": threshold}
    log.info("pseudo-labels (%s): %d of %d photos got %d boxes at score >= %.2f %s", name, len(labelled),
             len(samples), stats["boxes"], threshold, dict(per_class))
    return Part(name=name, train=labelled, val=[], real=True), stats


def phase_weights(parts: Sequence[Part], pseudo: Part, *, pseudo_share: float,
                  synthetic_share: float) -> tuple[list[Part], list[float]]:
    """The self-training phase's parts and shares: ``synthetic_share`` of each batch renders,
    ``pseudo_share`` pseudo-labelled photos, the rest the labelled photos (without any, the
    pseudo-labelled photos take the rest too)."""
    synthetic = [p for p in parts if not p.real and p.train]
    real = [p for p in parts if p.real and p.train]
    syn = synthetic_share if synthetic else 0.0
    rest = 1.0 - syn - pseudo_share
    if rest < 0:
        raise ConfigError(f"pseudo.share {pseudo_share} + finetune.synthetic_share {synthetic_share} exceed 1")
    if not real:
        pseudo_share, rest = 1.0 - syn, 0.0
    weights = [syn / len(synthetic) for _ in synthetic] + [rest / len(real) for _ in real] + [pseudo_share]
    return synthetic + real + [pseudo], weights
