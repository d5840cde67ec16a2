"""Label-aware augmentation, training mixes (weights, real fraction, validation split)."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from train.config import AugmentConfig
from sim2real.errors import ConfigError
from tests.test_train_common import compose_train, shapes
from train.augment import DetectionAugment
from train.data import DetectionDataset, train_loader
from train.plan import build_plan
from train.sources import load_source, subset


def _aug(**kw) -> DetectionAugment:
    base = dict(hflip=0.0, vflip=0.0, affine=0.0, color=0.0, blur=0.0, noise=0.0)
    return DetectionAugment(OmegaConf.merge(OmegaConf.structured(AugmentConfig), {**base, **kw}))


def _scene():
    image = torch.zeros(3, 64, 64)
    image[:, 10:30, 5:25] = 1.0  # object 1 at x 5..25, y 10..30
    image[:, 40:60, 44:64] = 0.5  # object 2 touching the right border
    masks = torch.zeros(2, 64, 64, dtype=torch.uint8)
    masks[0, 10:30, 5:25] = 1
    masks[1, 40:60, 44:64] = 1
    target = {"boxes": torch.tensor([[5.0, 10, 25, 30], [44, 40, 64, 60]]), "labels": torch.tensor([1, 2]), "masks": masks}
    return image, target


def test_flip_moves_boxes_and_masks_with_the_image():
    image, target = _scene()
    (out_img,), (out,) = _aug(hflip=1.0)([image], [target])
    assert torch.equal(out_img, image.flip(-1))
    assert torch.allclose(out["boxes"], torch.tensor([[39.0, 10, 59, 30], [0, 40, 20, 60]]))
    assert torch.equal(out["masks"], target["masks"].flip(-1))
    no_masks = {k: v for k, v in target.items() if k != "masks"}
    _, (out2,) = _aug(hflip=1.0)([image], [no_masks])  # boxes alone move the same way
    assert torch.allclose(out2["boxes"], out["boxes"])


def test_boxes_leaving_the_image_are_dropped():
    image, target = _scene()
    torch.manual_seed(0)
    aug = _aug(affine=1.0, translate=0.3, scale=[1.0, 1.0])
    kept_counts = set()
    for _ in range(20):
        _, (out, again) = aug([image, image], [target, target])  # batched, each its own draw
        assert len(again["boxes"]) == len(again["labels"])
        kept_counts.add(len(out["boxes"]))
        b = out["boxes"]
        assert (b[:, 0] >= 0).all() and (b[:, 2] <= 64).all() and (b[:, 2] - b[:, 0] >= 2).all()
        assert len(out["labels"]) == len(b) == len(out["masks"])
        for box, mask in zip(b, out["masks"]):  # boxes stay tight around their moved masks
            ys, xs = torch.nonzero(mask, as_tuple=True)
            assert torch.allclose(box, torch.tensor([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]).float())
    assert 1 in kept_counts or 0 in kept_counts  # the border object is shifted out at least once


def test_colour_changes_pixels_not_labels():
    image, target = _scene()
    (out_img,), (out,) = _aug(color=1.0, noise=1.0)([image], [target])
    assert not torch.equal(out_img, image) and torch.equal(out["boxes"], target["boxes"])


def test_real_fraction_subsets_are_nested_and_seeded(tmp_path):
    src = load_source(shapes(tmp_path, "real", num_images=20, style="real"), ["square", "disc"], {}, key="k")
    small = {s.record.image_id for s in subset(src.samples, 0.25, 0, key="k")}
    large = {s.record.image_id for s in subset(src.samples, 0.5, 0, key="k")}
    assert len(small) == 5 and len(large) == 10 and small <= large
    assert subset(src.samples, 0.0, 0, key="k") == [] and len(subset(src.samples, 0.01, 0, key="k")) == 1
    with pytest.raises(ConfigError, match="data.real_fraction"):
        subset(src.samples, 1.5, 0, key="data.real_fraction")


def test_plan_mixes_sources_and_keeps_test_out(tmp_path):
    sim = shapes(tmp_path, "sim", num_images=20)
    refined = shapes(tmp_path, "refined", num_images=10, seed=1)
    real = shapes(tmp_path, "real", num_images=20, style="real", seed=2)
    test = shapes(tmp_path, "test", num_images=4, style="real", seed=3)
    cfg = compose_train(f"data.train=[{sim},{refined}]", "data.weights=[1.0,3.0]", f"data.real_train={real}",
                        "data.real_fraction=0.5", f"data.test={test}", "data.val_fraction=0.2")
    plan = build_plan(cfg)
    assert [len(p.train) + len(p.val) for p in plan.synthetic] == [20, 10]
    assert len(plan.real.train) + len(plan.real.val) == 10 and plan.real.real
    assert plan.image_size == 64 and plan.classes == ["square", "disc"]
    train_paths = {s.record.image_path for p in plan.parts("all") for s in p.train + p.val}
    assert not train_paths & {s.record.image_path for s in plan.test.samples}
    val_ids = {id(s) for p in plan.parts("all") for s in p.val}
    assert val_ids and not val_ids & {id(s) for p in plan.parts("all") for s in p.train}
    parts = [DetectionDataset(p.train, plan.classes) for p in plan.synthetic]
    loader = train_loader(parts, [1.0, 3.0], batch_size=4, num_workers=0, seed=0)
    drawn = list(loader.sampler)
    from_refined = sum(i >= len(parts[0]) for i in drawn) / len(drawn)
    assert 0.55 < from_refined < 0.95  # weight 3:1 despite holding half as many images
    small = train_loader(parts[1:], None, batch_size=4, num_workers=0, seed=0, epoch_size=40)
    drawn = list(small.sampler)  # a small set is drawn with replacement up to epoch_size
    assert len(drawn) == 40 and len(set(drawn)) <= len(parts[1]) < 40 and len(small) == 10
    assert len(train_loader(parts, None, batch_size=4, num_workers=0, seed=0, epoch_size=4).sampler) == sum(map(len, parts))
    with pytest.raises(ConfigError, match="data.weights"):
        build_plan(compose_train(f"data.train=[{sim}]", "data.weights=[1.0,2.0,3.0]"))
    with pytest.raises(ConfigError, match="data.real_train"):
        build_plan(compose_train(f"data.train=[{sim}]", "data.real_fraction=0.5"))


def test_single_path_and_empty_train(tmp_path):
    sim = shapes(tmp_path, "sim", num_images=6)
    test = shapes(tmp_path, "test", num_images=4, style="real", seed=3)
    assert len(build_plan(compose_train(f"data.train={sim}")).synthetic) == 1
    plan = build_plan(compose_train("data.train=[]", f"data.test={test}"))
    assert plan.parts("all") == [] and plan.classes == ["square", "disc"]


def test_missing_or_unreadable_images_are_counted_skips_before_training(tmp_path, caplog):
    from sim2real.errors import DatasetError
    from tests.realsets import bomb_png, squares, write_coco
    from train.sources import load_source

    src = write_coco(tmp_path / "coco", squares(5, names=("tin",)))
    (src / "images" / "001.png").unlink()  # missing
    (src / "images" / "002.png").write_bytes(b"not a png")  # unreadable
    bomb_png(src / "images" / "003.png", 10000, 10000)  # over the pixel limit
    with caplog.at_level("WARNING", logger="train.sources"):
        source = load_source(src, ["tin"], None, key="data.test")
    assert [Path(s.record.image_path).name for s in source.samples] == ["000.png", "004.png"]
    assert sorted(Path(p).name for p in source.unreadable) == ["001.png", "002.png", "003.png"]
    assert "data.test" in caplog.text and "skipping 3 of 5 images" in caplog.text
    for name in ("000.png", "004.png"):
        (src / "images" / name).unlink()
    with pytest.raises(DatasetError, match="data.test .*none of its 5 images can be read"):
        load_source(src, ["tin"], None, key="data.test")
