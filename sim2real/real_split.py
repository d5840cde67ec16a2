"""A fixed split of one labelled real set into a training pool and a test split, by a recorded rule.

The images are taken in the order the reader lists them (file names; BOP: scene, then image
id) and cut into blocks of ``block`` consecutive images; a seeded draw sends
``test_fraction`` of the blocks to the test side. Neighbouring frames of a video or a turntable
sequence stay on one side, so the test split measures frames the detector has not nearly
seen. The split (rule and the file of every image on each side) is written to ``split.json``
next to the imported sets, and the same rule on the same set always gives the same split.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim2real import atomic
from sim2real.errors import ConfigError
from sim2real.records import LabelledSet


@dataclass(frozen=True)
class SplitRule:
    test_fraction: float = 0.5
    block: int = 1
    seed: int = 0

    def check(self) -> None:
        if not 0.0 < self.test_fraction < 1.0:
            raise ConfigError(f"data.split.test_fraction must lie in (0, 1), got {self.test_fraction}")
        if self.block < 1:
            raise ConfigError(f"data.split.block must be at least 1, got {self.block}")


def split_indices(n: int, rule: SplitRule) -> tuple[list[int], list[int]]:
    """(train indices, test indices) of ``n`` images under ``rule``; both sides non-empty."""
    rule.check()
    blocks = [list(range(i, min(i + rule.block, n))) for i in range(0, n, rule.block)]
    if len(blocks) < 2:
        raise ConfigError(f"data.split: {n} images in blocks of {rule.block} make {len(blocks)} block; need two")
    n_test = min(len(blocks) - 1, max(1, round(rule.test_fraction * len(blocks))))
    order = np.random.default_rng(rule.seed).permutation(len(blocks))
    test_blocks = set(order[:n_test].tolist())
    train = [i for b, idx in enumerate(blocks) if b not in test_blocks for i in idx]
    test = [i for b, idx in enumerate(blocks) if b in test_blocks for i in idx]
    return train, test


def write_record(path: Path, source: str, data: LabelledSet, rule: SplitRule, train: list[int],
                 test: list[int]) -> None:
    """``split.json``: the rule and which source file went where."""
    root = Path(data.root).resolve()

    def name(i: int) -> str:
        p = Path(data.records[i].image_path).resolve()
        return str(p.relative_to(root)) if p.is_relative_to(root) else p.name

    atomic.write_json(path, {
        "source": str(source), "rule": {"test_fraction": rule.test_fraction, "block": rule.block, "seed": rule.seed},
        "order": "reader order (file names; BOP: scene, then image id)",
        "train": [name(i) for i in train], "test": [name(i) for i in test],
        "boxes": {"train": sum(len(data.records[i].boxes) for i in train),
                  "test": sum(len(data.records[i].boxes) for i in test)}}, indent=1)
