"""COCO / VOC / YOLO test sets feed the metric through the readers; class map and its errors."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from sim2real.dataset import DatasetReader
from sim2real.errors import DatasetError
from tests.test_train_common import shapes
from train.data import DetectionDataset
from train.evaluate import coco_metrics
from train.sources import load_source

NAMES = {"square": "box", "disc": "ball"}  # what the "real" sets call the scene classes
CLASS_MAP = {"box": "square", "ball": "disc"}


def _extra_box(rec) -> tuple[list[float], str]:
    return [1.0, 1.0, 6.0, 6.0], "person"  # a label the scene does not have


def write_coco(src: DatasetReader, root: Path) -> Path:
    (root / "images").mkdir(parents=True)
    cats = {n: i + 1 for i, n in enumerate(["box", "ball", "person"])}
    images, anns = [], []
    for i, rec in enumerate(src.records):
        shutil.copy(rec.image_path, root / "images" / rec.image_path.name)
        images.append({"id": i + 1, "file_name": rec.image_path.name, "width": 64, "height": 64})
        boxes = [(b.tolist(), NAMES[label]) for b, label in zip(rec.boxes, rec.labels)] + [_extra_box(rec)]
        for (x0, y0, x1, y1), name in boxes:
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": cats[name],
                         "bbox": [x0, y0, x1 - x0, y1 - y0], "area": (x1 - x0) * (y1 - y0), "iscrowd": 0})
    (root / "annotations.json").write_text(json.dumps(
        {"images": images, "annotations": anns, "categories": [{"id": i, "name": n} for n, i in cats.items()]}))
    return root


def write_voc(src: DatasetReader, root: Path) -> Path:
    (root / "Annotations").mkdir(parents=True)
    (root / "JPEGImages").mkdir()
    for rec in src.records:
        shutil.copy(rec.image_path, root / "JPEGImages" / rec.image_path.name)
        objs = "".join(
            f"<object><name>{name}</name><bndbox><xmin>{x0 + 1:g}</xmin><ymin>{y0 + 1:g}</ymin>"
            f"<xmax>{x1:g}</xmax><ymax>{y1:g}</ymax></bndbox></object>"
            for (x0, y0, x1, y1), name in [(b.tolist(), NAMES[label]) for b, label in zip(rec.boxes, rec.labels)]
            + [_extra_box(rec)])
        (root / "Annotations" / f"{rec.image_path.stem}.xml").write_text(
            f"<annotation><filename>{rec.image_path.name}</filename><size><width>64</width><height>64</height>"
            f"</size>{objs}</annotation>")
    return root


def write_yolo(src: DatasetReader, root: Path) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    names = ["box", "ball", "person"]
    (root / "classes.txt").write_text("\n".join(names))
    for rec in src.records:
        shutil.copy(rec.image_path, root / "images" / rec.image_path.name)
        lines = []
        for (x0, y0, x1, y1), name in [(b.tolist(), NAMES[label]) for b, label in zip(rec.boxes, rec.labels)] + [_extra_box(rec)]:
            lines.append(f"{names.index(name)} {(x0 + x1) / 128} {(y0 + y1) / 128} {(x1 - x0) / 64} {(y1 - y0) / 64}")
        (root / "labels" / f"{rec.image_path.stem}.txt").write_text("\n".join(lines))
    return root


WRITERS = {"coco": write_coco, "voc": write_voc, "yolo": write_yolo}


@pytest.fixture(scope="module")
def truth(tmp_path_factory):
    return DatasetReader(shapes(tmp_path_factory.mktemp("truth"), "real", num_images=6, style="real", seed=3))


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_labelled_sets_feed_the_metric(fmt, truth, tmp_path):
    root = WRITERS[fmt](truth, tmp_path / fmt)
    with pytest.raises(DatasetError, match=r"data.test .*labels \['person'\] map onto none of the classes"):
        load_source(root, ["square", "disc"], CLASS_MAP, key="data.test")
    source = load_source(root, ["square", "disc"], CLASS_MAP, key="data.test", ignore_labels=["person"])
    assert source.fmt == fmt and len(source) == len(truth)
    assert source.unmapped == {"person": len(truth)}  # dropped as asked, and counted
    data = DetectionDataset(source.samples, ["square", "disc"])
    targets = [data.target(i, 64, 64) for i in range(len(data))]
    perfect = [{"boxes": torch.as_tensor(r.boxes), "scores": torch.ones(len(r.boxes)),
                "labels": torch.as_tensor([1 if n == "square" else 2 for n in r.labels])} for r in truth.records]
    metrics = coco_metrics(perfect, targets, ["square", "disc"])
    assert metrics["map50"] == pytest.approx(1.0) and metrics["map"] > 0.95
    assert metrics["ap/square"] > 0.95 and metrics["ap/disc"] > 0.95
    swapped = [{**p, "labels": 3 - p["labels"]} for p in perfect]  # right boxes, wrong classes
    assert coco_metrics(swapped, targets, ["square", "disc"])["map50"] == pytest.approx(0.0)
    shifted = [{**p, "boxes": p["boxes"] + 20} for p in perfect]
    full = coco_metrics(shifted, targets, ["square", "disc"])
    assert full["map50"] < 0.5
    summary = coco_metrics(shifted, targets, ["square", "disc"], per_class=False)  # the slices' fast path
    assert summary == {k: full[k] for k in summary} and "ap/square" not in summary


def test_class_map_onto_unknown_class_is_an_error(truth, tmp_path):
    root = write_coco(truth, tmp_path / "coco")
    with pytest.raises(DatasetError, match="unknown classes"):
        load_source(root, ["square", "disc"], {"box": "cube"}, key="data.test")


def test_unmapped_test_set_is_reported_in_metrics(truth, tmp_path):
    from tests.test_train_common import FAST, compose_train
    from train.run import run

    sim = shapes(tmp_path, "sim", num_images=6)
    coco = write_coco(truth, tmp_path / "coco")
    cfg = compose_train(f"data.train=[{sim}]", f"data.test={coco}", f"out_dir={tmp_path / 'run'}",
                        "data.class_map={box: square}", "data.ignore_labels=[ball,person]", "plots=false",
                        "data.val_fraction=0", *FAST)
    result = run(cfg)
    discs = sum(label == "disc" for r in truth.records for label in r.labels)
    assert result["info"]["data"]["unmapped"] == {"data.test": {"ball": discs, "person": len(truth)}}
    assert result["metrics"]["test/ap/disc"] is None  # no true disc left: undefined, not zero


def test_missing_test_set_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="data.test"):
        load_source(tmp_path / "nowhere", ["square"], {}, key="data.test")


def test_class_map_must_map_names(tmp_path):
    from sim2real.errors import ConfigError
    from tests.test_train_common import compose_train
    from train.plan import build_plan

    sim = shapes(tmp_path, "sim", num_images=6)
    with pytest.raises(ConfigError, match="data.class_map"):
        build_plan(compose_train(f"data.train=[{sim}]", "data.class_map={box: 3}"))
