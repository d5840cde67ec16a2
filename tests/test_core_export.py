"""``sim2real-export``: datasets to YOLO (Ultralytics) and COCO, read back by the project's own readers;
a detector to ONNX, checked against ONNX Runtime."""
import json

import numpy as np
import pytest
from sim2real.errors import Sim2RealError
from sim2real.export import export_dataset
from sim2real.readers import load_labelled
from sim2real.synthetic import make_shapes_dataset


def export(dataset, out, fmt, **kw):
    return export_dataset(str(dataset), str(out), fmt, **kw)


def by_name(data):
    return {r.image_path.name: r for r in data.records}


@pytest.mark.parametrize("fmt", ["yolo", "coco"])
def test_an_export_reads_back_with_the_same_boxes(tmp_path, fmt):
    src = make_shapes_dataset(tmp_path / "sim", num_images=5, size=64, max_objects=3)
    summary = export(src, tmp_path / fmt, fmt)
    original, again = load_labelled(src), load_labelled(tmp_path / fmt)
    assert again.fmt == fmt and again.classes == original.classes
    assert summary["images"] == 5 and summary["boxes"] == sum(len(r.labels) for r in original.records)
    a, b = by_name(original), by_name(again)
    assert set(a) == set(b)
    for name in a:
        assert b[name].labels == a[name].labels
        np.testing.assert_allclose(b[name].boxes, a[name].boxes, atol=1e-3)  # 6 decimals of a 64-px side
    if fmt == "yolo":
        meta = (tmp_path / "yolo" / "data.yaml").read_text()
        assert "train: images/train" in meta and "val: images/train" in meta and "0: square" in meta


def test_yolo_leaves_ignore_regions_out_and_counts_them(tmp_path):
    src = make_shapes_dataset(tmp_path / "sim", num_images=3, size=64, max_objects=3)
    export(src, tmp_path / "coco", "coco")
    ann = tmp_path / "coco" / "annotations.json"
    coco = json.loads(ann.read_text())
    coco["annotations"][0]["iscrowd"] = 1
    ann.write_text(json.dumps(coco))
    summary = export(tmp_path / "coco", tmp_path / "yolo", "yolo")
    assert summary["ignore_regions_left_out"] == 1 and summary["boxes"] == len(coco["annotations"]) - 1


def test_a_non_empty_out_dir_is_refused_and_left_alone(tmp_path, cli):
    src = make_shapes_dataset(tmp_path / "sim", num_images=2, size=32)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(Sim2RealError, match="out_dir=.*not empty"):
        export(src, out, "yolo")
    assert (out / "keep.txt").read_text() == "mine"
    res = cli("sim2real-export", f"dataset={src}", "format=yolo", f"out_dir={out}", "overwrite=true")
    assert res.returncode == 0, res.stderr[-2000:]
    assert not (out / "keep.txt").exists() and (out / "data.yaml").is_file()
    bad = cli("sim2real-export", f"dataset={src}", "format=voc", f"out_dir={tmp_path / 'x'}")
    assert bad.returncode != 0 and "expected one of [yolo, coco, onnx]" in bad.stderr


def test_a_detector_exports_to_onnx_and_onnxruntime_gives_the_same_boxes(tmp_path, cli):
    pytest.importorskip("onnxruntime")
    import onnxruntime as ort
    import torch

    import train
    from tests.test_train_common import FAST, compose_train, shapes
    from train.run import run

    sim = shapes(tmp_path, "sim", num_images=4)
    det = tmp_path / "det"
    run(compose_train(*FAST, "data.val_fraction=0", f"data.train=[{sim}]", f"data.test={sim}", f"out_dir={det}",
                      "plots=false", "slices=none"))
    res = cli("sim2real-export", "format=onnx", f"ckpt={det}", f"out_dir={tmp_path / 'onnx'}",
              f"check_images=[{sim}/images/000000.png]")
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads((tmp_path / "onnx" / "detector.json").read_text())
    assert summary["classes"] == ["square", "disc"] and summary["input"] == [3, 64, 64]
    assert summary["onnxruntime_check"]["max_box_difference_px"] < 1e-2
    # and independently of the exporter's own check
    session = ort.InferenceSession(str(tmp_path / "onnx" / "detector.onnx"), providers=["CPUExecutionProvider"])
    image = torch.rand(3, 64, 64)
    boxes, scores, labels = session.run(None, {"image": image.numpy()})
    with torch.no_grad():
        ref = train.load_detector(det).model([image])[0]
    np.testing.assert_allclose(boxes, ref["boxes"].numpy(), atol=1e-2)
    np.testing.assert_array_equal(labels, ref["labels"].numpy())
    missing = cli("sim2real-export", "format=onnx", f"out_dir={tmp_path / 'x'}")
    assert missing.returncode == 2 and "set ckpt=" in missing.stderr
