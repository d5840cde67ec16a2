"""From ``cfg.data`` to what training needs: classes, training parts, validation, test set.

No test image ever enters training or model selection: validation is a split of each training
source, and the test set is read only for the final evaluation.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from sim2real.errors import ConfigError
from sim2real.records import parse_class_map
from train.sources import Sample, Source, as_list, load_source, read_classes, split_validation, subset

log = logging.getLogger(__name__)


@dataclass
class Part:
    """One training source after the validation split (and the real-fraction subset)."""

    name: str
    train: list[Sample]
    val: list[Sample]
    weight: float | None = None
    real: bool = False


@dataclass
class DataPlan:
    classes: list[str]
    synthetic: list[Part]
    real: Part | None
    test: Source | None
    image_size: int
    extra_tests: dict[str, Source] = field(default_factory=dict)
    unmapped: dict[str, dict[str, int]] = field(default_factory=dict)

    def parts(self, which: str) -> list[Part]:
        """``all`` (merged schedule), ``synthetic`` or ``real`` (finetune phases)."""
        chosen = {"all": self.synthetic + ([self.real] if self.real else []),
                  "synthetic": self.synthetic, "real": [self.real] if self.real else []}[which]
        return [p for p in chosen if p.train]

    def summary(self) -> dict:
        return {
            "classes": self.classes,
            "image_size": self.image_size,
            "train": {p.name: {"train": len(p.train), "val": len(p.val), "weight": p.weight, "real": p.real}
                      for p in self.synthetic + ([self.real] if self.real else [])},
            "test": {"path": str(self.test.path), "images": len(self.test), "unreadable": len(self.test.unreadable)}
            if self.test else None,
            "unmapped": self.unmapped,
        }


def _scene_classes(data: Any, train_paths: list[str]) -> list[str]:
    if data.classes:
        return [str(c) for c in data.classes]
    for path in train_paths + ([data.real_train] if data.real_train else []) + ([data.test] if data.test else []):
        if Path(path).exists():
            return read_classes(path)
    raise ConfigError("data.classes is unset and no data source exists to read class names from "
                      f"(data.train={train_paths}, data.real_train={data.real_train}, data.test={data.test})")


def _image_size(samples: list[Sample]) -> int:
    """The most common longer image side among (up to 64 of) the training images."""
    sides: Counter = Counter()
    for s in samples[:64]:
        w, h = s.record.width, s.record.height
        if not w or not h:
            with Image.open(s.record.image_path) as im:
                w, h = im.size
        sides[max(w, h)] += 1
    return sides.most_common(1)[0][0] if sides else 128


def _weights(data: Any, n_train: int) -> tuple[list[float | None], float | None]:
    if data.weights is None:
        return [None] * n_train, None
    weights = [float(w) for w in data.weights]
    if len(weights) == n_train:
        return weights, None  # the real part is drawn at its natural share
    if len(weights) == n_train + 1 and data.real_train:
        return weights[:-1], weights[-1]
    raise ConfigError(f"data.weights has {len(weights)} entries; data.train has {n_train} sources"
                      + (" (+1 allowed for data.real_train)" if data.real_train else ""))


def build_plan(cfg: Any) -> DataPlan:
    data = cfg.data
    train_paths = as_list(data.train, "data.train")
    classes = _scene_classes(data, train_paths)
    cmap = parse_class_map(data.class_map)
    ignored = [str(x) for x in data.ignore_labels]
    weights, real_weight = _weights(data, len(train_paths))
    unmapped: dict[str, dict[str, int]] = {}
    synthetic = []
    for i, (path, weight) in enumerate(zip(train_paths, weights)):
        src = load_source(path, classes, cmap, key=f"data.train[{i}]", ignore_labels=ignored)
        unmapped.update({f"data.train[{i}]": src.unmapped} if src.unmapped else {})
        train, val = split_validation(src.samples, data.val_fraction, cfg.seed + i)
        synthetic.append(Part(name=src.name, train=train, val=val, weight=weight))
    real = None
    if data.real_fraction > 0:
        if not data.real_train:
            raise ConfigError("data.real_fraction > 0 needs data.real_train (a labelled real split)")
        src = load_source(data.real_train, classes, cmap, key="data.real_train", ignore_labels=ignored)
        unmapped.update({"data.real_train": src.unmapped} if src.unmapped else {})
        chosen = subset(src.samples, float(data.real_fraction), cfg.seed, key="data.real_fraction")
        train, val = split_validation(chosen, data.val_fraction, cfg.seed + 1000)
        if real_weight is None and data.weights is not None:
            n_syn = sum(len(p.train) for p in synthetic) or 1
            real_weight = sum(p.weight or 0.0 for p in synthetic) * len(train) / n_syn or 1.0
        real = Part(name=f"{src.name}@{data.real_fraction:g}", train=train, val=val, weight=real_weight, real=True)
    test = None
    if data.test:
        test = load_source(data.test, classes, cmap, key="data.test", ignore_labels=ignored)
        unmapped.update({"data.test": test.unmapped} if test.unmapped else {})
    extra = {}
    for prefix, path in dict(data.extra_test or {}).items():
        if prefix in ("test", "val", "train") or "/" in str(prefix):
            raise ConfigError(f"data.extra_test: prefix {prefix!r} is reserved or contains '/'")
        extra[str(prefix)] = load_source(path, classes, cmap, key=f"data.extra_test.{prefix}", ignore_labels=ignored)
    all_train = [s for p in synthetic + ([real] if real else []) for s in p.train]
    size = cfg.detector.image_size or _image_size(all_train or (test.samples if test else []))
    plan = DataPlan(classes=classes, synthetic=synthetic, real=real, test=test, image_size=int(size),
                    unmapped=unmapped, extra_tests=extra)
    log.info("data: %s", plan.summary())
    return plan
