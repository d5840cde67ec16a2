"""The learned camera as on-the-fly augmentation: a trained camera refiner's checkpoint loads
safely, gives each read of a render a fresh camera, reaches only the renders' parts, and bad
settings fail before any work."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from sim2real.errors import ConfigError
from sim2real.synthetic import make_image_folder
from tests.test_refiner_run import _cfg
from tests.test_train_common import FAST, compose_train, shapes
from train.camera_augment import CameraAugment, load_camera


@pytest.fixture(scope="module")
def refiners(tmp_path_factory) -> dict[str, Path]:
    """A camera refiner and a FastCUT refiner, each trained a few real steps: their checkpoints."""
    from refiner.run import run

    root = tmp_path_factory.mktemp("camera_refiner")
    shapes(root, "sim", num_images=6, size=32)
    make_image_folder(root / "real", num_images=6, size=40)
    return {name: Path(run(_cfg(root, root / f"refined_{name}", "data.batch_size=4", refiner=name, steps=4))["checkpoint"])
            for name in ("camera", "fastcut")}


def test_the_camera_of_a_refiner_checkpoint_draws_a_new_camera_each_read(refiners):
    camera = load_camera(refiners["camera"])
    state = torch.load(refiners["camera"], weights_only=True)["state_dict"]
    assert torch.equal(camera.mean, state["model.net_g.mean"])  # what the refiner learned, not a fresh camera
    assert not camera.mean.requires_grad
    image = torch.rand(3, 24, 32)
    augment = CameraAugment(camera)
    first, second = augment(image), augment(image)
    assert first.shape == image.shape and 0.0 <= float(first.min()) and float(first.max()) <= 1.0
    assert not torch.allclose(first, image, atol=1e-3) and not torch.allclose(first, second, atol=1e-4)
    torch.manual_seed(0)
    kept = sum(torch.equal(CameraAugment(camera, p=0.5)(image), image) for _ in range(40))
    assert 8 <= kept <= 32  # p = 0.5: about half the reads stay as rendered


def test_only_the_renders_are_seen_through_the_camera_and_a_run_trains(refiners, tmp_path):
    from train.plan import build_plan
    from train.run import _loaders, run

    sim = shapes(tmp_path, "sim", num_images=8)
    real = shapes(tmp_path, "real", num_images=8, style="real", seed=4)
    test = shapes(tmp_path, "test", num_images=3, style="real", seed=3)
    cfg = compose_train(f"data.train=[{sim}]", f"data.real_train={real}", "data.real_fraction=1.0",
                        f"data.test={test}", f"data.augment.camera={refiners['camera']}", "plots=false",
                        "slices=none", f"out_dir={tmp_path / 'run'}", *FAST)
    plan = build_plan(cfg)
    train, _ = _loaders(cfg, plan, plan.parts("all"), None, False)
    transforms = [type(d.transform).__name__ for d in train.dataset.datasets]
    assert transforms == ["CameraAugment", "NoneType"]  # the renders' part, then the photos'
    assert "test/map50" in run(cfg)["metrics"]


@pytest.mark.parametrize("setting, match", [
    ("data.augment.camera={nope}", "data.augment.camera: .*nope.ckpt is not a file"),
    ("data.augment.camera={fastcut}", "holds a 'fastcut' refiner"),
    ("data.augment.camera={camera} data.augment.camera_p=0", "data.augment.camera_p"),
])
def test_bad_camera_settings_fail_before_any_work(refiners, tmp_path, setting, match):
    from train.run import run

    sim = shapes(tmp_path, "sim", num_images=4)
    overrides = setting.format(nope=tmp_path / "nope.ckpt", **refiners).split()
    with pytest.raises(ConfigError, match=match):
        run(compose_train(f"data.train=[{sim}]", f"out_dir={tmp_path / 'run'}", *overrides, *FAST))
    assert not (tmp_path / "run").exists()
