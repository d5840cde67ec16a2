"""Every registered detector trains a few real steps on 64-px data and is evaluated; weights files."""
from __future__ import annotations

import json

import pytest
import torch

from sim2real.errors import ConfigError
from tests.test_train_common import FAST, compose_train, shapes
from train.detectors import auto_anchor_sizes, create as create_detector, names as detector_names
from train.run import run

DETECTOR_CONFIGS = {
    "fcos_tiny": "fcos_tiny", "fasterrcnn_tiny": "fasterrcnn_tiny",
    "fasterrcnn_mobilenet_v3_large_fpn": "fasterrcnn_mobilenet", "fasterrcnn_resnet50_fpn_v2": "fasterrcnn_resnet50",
    "retinanet_resnet50_fpn_v2": "retinanet", "fcos_resnet50_fpn": "fcos", "ssdlite320_mobilenet_v3_large": "ssdlite",
    "maskrcnn_resnet50_fpn_v2": "maskrcnn",
}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("det_data")
    return shapes(root, "sim", num_images=6), shapes(root, "real", num_images=4, style="real", seed=5)


def test_every_registered_detector_has_a_config():
    assert set(DETECTOR_CONFIGS) == set(detector_names())


# Fewer sampled RoIs keep the ResNet-50 R-CNN heads (4 convs on every RoI) quick on 2 cores.
SMALL_RCNN = ["+detector.kwargs.box_batch_size_per_image=16", "+detector.kwargs.rpn_post_nms_top_n_test=20"]


# The ResNet-50 models cost ~2-3 min each on the loaded 2-core box: run them with -m slow.
HEAVY = {"fasterrcnn_resnet50_fpn_v2", "maskrcnn_resnet50_fpn_v2", "retinanet_resnet50_fpn_v2", "fcos_resnet50_fpn"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in HEAVY else n
                                  for n in sorted(DETECTOR_CONFIGS)])
def test_detector_trains_and_evaluates(name, data, tmp_path):
    sim, real = data
    extra = SMALL_RCNN if name in ("fasterrcnn_resnet50_fpn_v2", "maskrcnn_resnet50_fpn_v2") else []
    cfg = compose_train(f"detector={DETECTOR_CONFIGS[name]}", f"data.train=[{sim}]", f"data.test={real}",
                        f"out_dir={tmp_path}", "plots=false", "data.val_fraction=0", "slices=none", *FAST, *extra)
    model = create_detector(name, 2, 64)
    before = {k: v.clone() for k, v in model.state_dict().items() if v.dtype.is_floating_point}
    result = run(cfg)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    for key in ("test/map50", "test/map", "test/map75", "test/mar_100", "test/ap/square", "test/ap/disc"):
        assert key in metrics and key in result["metrics"]
    assert 0.0 <= (metrics["test/map50"] or 0.0) <= 1.0
    ckpt = torch.load(tmp_path / "checkpoints" / "merged" / "last.ckpt", weights_only=False)
    trained = {k.removeprefix("model."): v for k, v in ckpt["state_dict"].items()}
    assert ckpt["global_step"] == 2
    changed = [k for k, v in before.items() if k in trained and not torch.equal(v, trained[k])]
    assert changed, "two optimiser steps changed no weight"


def test_input_size_follows_the_data():
    model = create_detector("fasterrcnn_tiny", 2, 128)
    assert model.transform.min_size == (128,) and model.transform.max_size == 128
    out = model.eval()([torch.rand(3, 128, 128)])
    assert isinstance(out, list) and set(out[0]) >= {"boxes", "scores", "labels"}
    ssd = create_detector("ssdlite320_mobilenet_v3_large", 2, 96)
    assert ssd.transform.fixed_size == (96, 96)


def test_anchor_sizes_follow_the_boxes():
    template = ((32,), (64,), (128,), (256,), (512,))
    sizes = auto_anchor_sizes(template, 128, box_sizes=torch.linspace(10, 40, 50).numpy())
    assert len(sizes) == 5 and all(len(level) == 1 for level in sizes)
    assert sizes[0][0] < 10 and 40 < sizes[-1][0] < 80
    scaled = auto_anchor_sizes(template, 160, box_sizes=None)
    assert scaled[0][0] == round(32 * 160 / 800) and scaled[-1][0] == round(512 * 160 / 800)
    model = create_detector("fasterrcnn_mobilenet_v3_large_fpn", 2, 128, box_sizes=torch.linspace(10, 40, 50).numpy())
    assert max(s for level in model.rpn.anchor_generator.sizes for s in level) < 80


def test_local_weights_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        create_detector("fcos_tiny", 2, 64, weights=str(tmp_path / "missing.pt"))
    source = create_detector("fcos_tiny", 3, 64)
    torch.save(source.state_dict(), tmp_path / "w.pt")
    target = create_detector("fcos_tiny", 2, 64, weights=str(tmp_path / "w.pt"))  # class head differs: skipped
    key = "backbone.body.stem.0.weight"
    assert torch.equal(target.state_dict()[key], source.state_dict()[key])
    torch.save(source.backbone.body.state_dict(), tmp_path / "body.pt")
    other = create_detector("fasterrcnn_tiny", 2, 64, weights_backbone=str(tmp_path / "body.pt"))
    assert torch.equal(other.backbone.body.state_dict()["stem.0.weight"], source.state_dict()[key])


def test_unknown_detector_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown detector"):
        create_detector("yolo_v99", 2, 64)


def test_torchvision_weight_names_load_from_the_hub_cache(tmp_path, monkeypatch, caplog):
    """``detector.weights=COCO_V1`` / ``weights_backbone=IMAGENET1K_V1`` read torchvision's file from
    ``$TORCH_HOME`` (written here by the test, at the path torchvision uses); nothing downloads."""
    import logging

    import torchvision

    from sim2real.errors import ConfigError

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    cache = tmp_path / "torch" / "hub" / "checkpoints"
    name = "fasterrcnn_mobilenet_v3_large_fpn"
    with pytest.raises(ConfigError, match=r"detector.weights=DEFAULT: .*fasterrcnn_mobilenet_v3_large_fpn-fb6a3cc7.pth "
                                          r"is not in the torch hub cache \(TORCH_HOME\); set detector.download=true"):
        create_detector(name, 2, 128, weights="DEFAULT")
    with pytest.raises(ConfigError, match="not a file, nor one of"):
        create_detector(name, 2, 128, weights="COCO_V9")
    with pytest.raises(ConfigError, match="fcos_tiny is not a torchvision detector"):
        create_detector("fcos_tiny", 2, 64, weights="DEFAULT")

    coco = create_detector(name, 90, 128)  # 91 outputs, like torchvision's COCO detector
    cache.mkdir(parents=True)
    torch.save(coco.state_dict(), cache / "fasterrcnn_mobilenet_v3_large_fpn-fb6a3cc7.pth")
    with caplog.at_level(logging.INFO, logger="train.weights"):
        model = create_detector(name, 2, 128, weights="COCO_V1")
    ours, theirs = model.state_dict(), coco.state_dict()
    key = "backbone.body.0.0.weight"
    assert torch.equal(ours[key], theirs[key]) and torch.equal(ours["rpn.head.conv.0.0.weight"], theirs["rpn.head.conv.0.0.weight"])
    assert ours["roi_heads.box_predictor.cls_score.weight"].shape[0] == 3  # a head for 2 classes + background, fresh
    assert "re-initialised" in caplog.text and "roi_heads.box_predictor.cls_score.weight" in caplog.text

    classifier = torchvision.models.mobilenet_v3_large()
    torch.save(classifier.state_dict(), cache / "mobilenet_v3_large-8738ca79.pth")  # IMAGENET1K_V1's file
    model = create_detector(name, 2, 128, weights_backbone="IMAGENET1K_V1")
    assert torch.equal(model.state_dict()["backbone.body.0.0.weight"], classifier.state_dict()["features.0.0.weight"])
