"""Slice metrics from meta and box attributes; a failing slice assertion exits non-zero with a table."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sim2real.records import Record
from tests.test_train_common import FAST, compose_train, shapes
from train.slices import compute_slices
from train.sources import Sample

CLASSES = ["square", "disc"]


def _sample(i: int, background: str, boxes: list, labels: list, occlusion: list, num_objects: int) -> Sample:
    rec = Record(image_path=f"img{i}.png", image_id=i, boxes=np.array(boxes, np.float32), labels=labels,
                 width=128, height=128, meta={"background": {"kind": background}, "num_objects": num_objects})
    return Sample(record=rec, box_attrs=[{"occlusion": o} for o in occlusion])


@pytest.fixture
def scene():
    """Flat-background images are predicted perfectly, textured ones not at all."""
    samples, preds, targets = [], [], []
    for i in range(8):
        background = "flat" if i % 2 == 0 else "textured"
        boxes = [[10, 10, 50, 50], [60, 60, 70, 70]]  # a large square, a small disc
        samples.append(_sample(i, background, boxes, ["square", "disc"], [0.0, 0.6], 2 + (i % 4 == 0) * 3))
        t = {"boxes": torch.tensor(boxes, dtype=torch.float32), "labels": torch.tensor([1, 2])}
        targets.append(t)
        if background == "flat":
            preds.append({"boxes": t["boxes"].clone(), "scores": torch.tensor([0.9, 0.8]), "labels": t["labels"].clone()})
        else:  # finds only the large square
            preds.append({"boxes": t["boxes"][:1].clone(), "scores": torch.tensor([0.9]), "labels": torch.tensor([1])})
    return samples, preds, targets


def test_slices_from_meta_and_boxes(scene):
    cfg = compose_train().slices
    report = compute_slices(*scene, CLASSES, cfg)
    got = {r.label: r for r in report.results}
    assert got["background=flat"].metrics["map50"] == pytest.approx(1.0)
    assert got["background=textured"].metrics["map50"] < 0.6  # the discs are missed there
    assert got["background=flat"].images == 4 and got["background=flat"].boxes == 8
    assert got["class=square"].metrics["map50"] == pytest.approx(1.0)
    assert got["class=disc"].metrics["map50"] == pytest.approx(0.5, abs=0.05)
    # sqrt(40*40)/128 = 0.31 -> large; sqrt(10*10)/128 = 0.08 -> small
    assert got["size=large"].metrics["map50"] == pytest.approx(1.0) and got["size=large"].boxes == 8
    assert got["size=small"].metrics["map50"] == pytest.approx(0.5, abs=0.05)
    assert got["occlusion=none"].metrics["map50"] == pytest.approx(1.0)
    assert got["occlusion=heavy"].boxes == 8 and "occlusion=partial" not in got
    assert {"num_objects=2-3", "num_objects=4-7"} <= set(got)
    assert "lighting" in report.missing  # no image carries lighting.kind
    assert not report.failing  # no thresholds configured


def test_thresholds_mark_failing_slices(scene):
    cfg = compose_train("slices.default_min=0.8", "slices.thresholds={class: {disc: 0.4}}").slices
    report = compute_slices(*scene, CLASSES, cfg)
    failing = {r.label for r in report.failing}
    assert "background=textured" in failing and "size=small" in failing and "occlusion=heavy" in failing
    assert "class=disc" not in failing  # its own threshold (0.4) is met
    assert "background=flat" not in failing
    flat = report.flat()
    assert flat["test/slice/background=flat/map50"] == pytest.approx(1.0)


def test_failing_slice_assertion_exits_nonzero_with_table(cli, tmp_path):
    sim = shapes(tmp_path, "sim", num_images=6)
    real = shapes(tmp_path, "real", num_images=4, style="real", seed=5)
    out = tmp_path / "run"
    proc = cli("sim2real-train", f"data.train=[{sim}]", f"data.test={real}", f"out_dir={out}", "plots=true",
               "data.val_fraction=0", "slices.assert=true", "slices.default_min=0.99", "slices.min_boxes=1", *FAST)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "slices below their threshold" in proc.stdout
    assert "background" in proc.stdout and "FAIL" in proc.stdout
    assert "slice(s) below their map50 threshold" in proc.stderr
    metrics = json.loads((out / "metrics.json").read_text())  # results are written before failing
    assert "test/slice/background=textured/map50" in metrics
    for png in ("pr_curves.png", "predictions.png", "slices.png"):
        assert (out / png).stat().st_size > 1000
