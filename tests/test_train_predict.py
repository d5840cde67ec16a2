"""Self-contained checkpoints (``train.load_detector``) and ``sim2real-predict``."""
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sim2real.errors import Sim2RealError
from tests.test_train_common import FAST, compose_train, shapes


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from train.run import run

    root = tmp_path_factory.mktemp("predict")
    sim = shapes(root, "sim", num_images=8)
    test = shapes(root, "test", num_images=4, style="real", seed=3)
    out = root / "det"
    result = run(compose_train(*[o for o in FAST if "max_steps" not in o], "trainer.max_steps=6",
                               "data.val_fraction=0", f"data.train=[{sim}]", f"data.test={test}", f"out_dir={out}",
                               "plots=false", "slices=none"))
    return root, out, test, result


def test_a_checkpoint_rebuilds_its_detector_without_config(trained):
    import train

    _, out, _, _ = trained
    det = train.load_detector(out)  # a detector run's folder: its final phase's checkpoint
    assert det.name == "fcos_tiny" and det.classes == ["square", "disc"] and det.image_size == 64
    again = train.load_detector(det.path)
    x = [np.random.default_rng(0).uniform(0, 1, (3, 64, 64)).astype(np.float32)]
    import torch

    with torch.no_grad():
        a, b = det.model([torch.from_numpy(x[0])]), again.model([torch.from_numpy(x[0])])
    assert torch.equal(a[0]["boxes"], b[0]["boxes"]) and torch.equal(a[0]["scores"], b[0]["scores"])


def test_predict_on_a_labelled_set_scores_like_the_training_run(trained, cli):
    root, out, test, result = trained
    res = cli("sim2real-predict", f"ckpt={out}", f"images={test}", f"out_dir={root / 'pred_test'}", "score_threshold=0.0",
              "progress=false")
    assert res.returncode == 0, res.stderr[-3000:]
    metrics = json.loads((root / "pred_test" / "metrics.json").read_text())["metrics"]
    assert metrics["map50"] == pytest.approx(result["metrics"]["test/map50"], abs=1e-4)  # the same detector
    assert metrics["map"] == pytest.approx(result["metrics"]["test/map"], abs=1e-4)


def test_predict_on_photos_of_any_size_writes_coco_results_and_drawings(trained, cli):
    root, out, _, _ = trained
    photos = root / "photos"
    photos.mkdir()
    rng = np.random.default_rng(1)
    sizes = {"wide.png": (120, 80), "tall.jpg": (50, 90), "grey.png": (64, 64)}
    for name, (w, h) in sizes.items():
        img = Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8))
        (img.convert("L") if name.startswith("grey") else img).save(photos / name)
    (photos / "broken.jpg").write_bytes(b"not an image")
    res = cli("sim2real-predict", f"ckpt={out}", f"images={photos}", f"out_dir={root / 'pred'}", "score_threshold=0.0",
              "progress=false", "batch_size=2")
    assert res.returncode == 0, res.stderr[-3000:]
    pred = root / "pred"
    images = json.loads((pred / "images.json").read_text())
    by_id = {im["id"]: im for im in images["images"]}
    assert {Path(im["file_name"]).name for im in by_id.values()} == set(sizes)
    assert [c["name"] for c in images["categories"]] == ["square", "disc"]
    detections = json.loads((pred / "detections.json").read_text())
    assert detections, "an untrained-ish detector at threshold 0 still returns boxes"
    for d in detections:
        im = by_id[d["image_id"]]
        x, y, w, h = d["bbox"]
        assert 0 <= x and 0 <= y and x + w <= im["width"] + 0.01 and y + h <= im["height"] + 0.01  # photo pixels
        assert d["category_id"] in (1, 2) and 0.0 <= d["score"] <= 1.0
    assert sorted(p.name for p in (pred / "images").iterdir()) == ["grey.jpg", "tall.jpg", "wide.jpg"]
    assert "1 unreadable image(s) skipped" in res.stdout + res.stderr
    assert not (pred / "metrics.json").exists()  # photos without labels are not scored


def test_a_bad_checkpoint_is_one_line_before_work(tmp_path, cli):
    import torch

    old = tmp_path / "old.ckpt"
    torch.save({"state_dict": {}}, old)  # as checkpoints were before they carried their detector
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("RGB", (32, 32)).save(photos / "a.png")
    for ckpt, message in ((tmp_path / "missing.ckpt", "neither a checkpoint file nor a detector run's out_dir"),
                          (old, "records no detector")):
        res = cli("sim2real-predict", f"ckpt={ckpt}", f"images={photos}", f"out_dir={tmp_path / 'out'}")
        assert res.returncode == 2 and message in res.stderr, res.stderr[-2000:]
        assert "Traceback" not in res.stderr and not (tmp_path / "out").exists()
    unset = cli("sim2real-predict", f"images={photos}")
    assert unset.returncode == 2 and "error: ckpt: Missing mandatory value" in unset.stderr, unset.stderr[-2000:]
    with pytest.raises(Sim2RealError, match="records no detector"):
        import train

        train.load_detector(old)


def test_a_detector_trains_and_scores_at_a_size_the_user_chooses(tmp_path):
    """``detector.image_size`` decouples the detector's input from the render size (aspect kept)."""
    import train
    from train.run import run

    sim = shapes(tmp_path, "sim", num_images=4, size=64)
    test = shapes(tmp_path, "test", num_images=2, size=80, style="real", seed=3)
    out = tmp_path / "det96"
    result = run(compose_train(*FAST, "data.val_fraction=0", "detector.image_size=96", f"data.train=[{sim}]",
                               f"data.test={test}", f"out_dir={out}", "plots=false", "slices=none"))
    assert result["metrics"]["test/map50"] is not None
    det = train.load_detector(out)
    assert det.image_size == 96 and tuple(det.model.transform.min_size) == (96,) and det.model.transform.max_size == 96
