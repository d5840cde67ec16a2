"""The refiner stage through its in-process API on composed configs: refine-apply keeps labels
byte-identical, resume continues the step count, divergence stops cleanly, bad input fails."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from PIL import Image

from refiner.engine import RefinerDiverged
from refiner.run import METRIC_KEYS, run
from sim2real.app import CONF_DIR
from pipeline.config import register_configs
from sim2real.dataset import DatasetReader
from sim2real.errors import ConfigError, DatasetError
from sim2real.synthetic import make_image_folder, make_shapes_dataset

FAST = ["logger=none", "trainer.enable_progress_bar=false", "refiner.task_net.steps=3", "refiner.task_net.crop=32",
        "refiner.task_net.width=4", "refiner.metrics.c2st.steps=3", "refiner.metrics.c2st.size=32",
        "refiner.net.ngf=8", "refiner.net.n_blocks=1", "refiner.net.ndf=8", "data.crop=32"]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("refiner_data")
    make_shapes_dataset(root / "sim", num_images=6, size=32, style="sim")
    make_image_folder(root / "real", num_images=6, size=40)
    (root / "real" / "broken.png").write_bytes(b"not a png")
    return root


def compose_refine(*overrides: str):
    register_configs()
    with initialize_config_dir(CONF_DIR, version_base="1.3"):
        return compose("refine", overrides=[*FAST, *overrides])


def _cfg(data: Path, out: Path, *extra: str, refiner: str = "fastcut", steps: int = 3):
    return compose_refine(f"refiner={refiner}", f"data.sim={data / 'sim'}", f"data.real={data / 'real'}",
                          f"out_dir={out}", f"trainer.max_steps={steps}", *extra)


def test_run_writes_refined_set_with_identical_labels_and_resumes(data, tmp_path):
    out = tmp_path / "refined"
    with pytest.warns(UserWarning, match="broken.png"):
        res = run(_cfg(data, out, "refiner.checkpoint_every_n_steps=2"))
    src = data / "sim"
    assert (out / "annotations.json").read_bytes() == (src / "annotations.json").read_bytes()
    refined, sim = DatasetReader(out), DatasetReader(src)
    assert refined.manifest.kind == "refined" and refined.manifest.status == "complete"
    prov = refined.manifest.provenance
    assert prov["source"] == str(src) and prov["checkpoint"] == res["checkpoint"] and "config" in prov
    for i in range(len(sim)):
        assert refined.image(i).shape == sim.image(i).shape
        assert np.array_equal(refined.mask(i), sim.mask(i))
    metrics = json.loads(Path(res["metrics_path"]).read_text())
    assert set(METRIC_KEYS) <= set(metrics) and set(metrics) == set(res["metrics"])
    assert metrics["data.real_skipped"] == 1
    assert all(0.0 <= metrics[k] <= 1.0 for k in ("realism.c2st.sim", "realism.c2st.refined"))
    ckpts = Path(res["work_dir"]) / "checkpoints"
    assert (ckpts / "step_000002.ckpt").is_file()
    assert torch.load(res["checkpoint"], weights_only=False)["refiner_step"] == 3

    # resume: the step count continues from 3 to 5; apply resumes (re-writes only a missing image)
    (out / "images" / "000004.png").unlink()
    res2 = run(_cfg(data, out, "ckpt_path=last", "evaluate=false", steps=5))
    assert res2["steps"] == 5
    assert torch.load(res2["checkpoint"], weights_only=False)["refiner_step"] == 5
    assert (out / "images" / "000004.png").is_file()


def test_apply_only_from_checkpoint_resumes_partial_output(data, tmp_path):
    out = tmp_path / "refined"
    res = run(_cfg(data, out, "evaluate=false", refiner="simgan", steps=2))
    before = (out / "images" / "000001.png").read_bytes()
    (out / "images" / "000003.png").unlink()
    res2 = run(_cfg(data, out, "train=false", "ckpt_path=last", "evaluate=false", refiner="simgan"))
    assert res2["checkpoint"] == res["checkpoint"]
    assert (out / "images" / "000001.png").read_bytes() == before
    assert DatasetReader(out).manifest.status == "complete"


def test_exploding_loss_stops_keeping_last_good_checkpoint(data, tmp_path):
    out = tmp_path / "refined"
    run(_cfg(data, out, "evaluate=false", steps=2))
    last = out.parent / "refined_refiner" / "checkpoints" / "last.ckpt"
    with pytest.raises(RefinerDiverged, match=r"exploded.*last good checkpoint: .*last.ckpt"):
        run(_cfg(data, out, "ckpt_path=last", "refiner.max_loss=1e-12", steps=4))
    assert torch.load(last, weights_only=False)["refiner_step"] == 2


def test_bad_input_gives_one_line_errors(data, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="holds no images") as err:
        run(compose_refine(f"data.sim={data / 'sim'}", f"data.real={empty}", f"out_dir={tmp_path / 'o1'}"))
    assert "\n" not in str(err.value)

    no_masks = tmp_path / "sim_nomasks"
    shutil.copytree(data / "sim", no_masks)
    shutil.rmtree(no_masks / "masks")
    with pytest.raises(DatasetError, match="no instance masks"):
        run(compose_refine(f"data.sim={no_masks}", f"data.real={data / 'real'}", f"out_dir={tmp_path / 'o2'}"))



def test_greyscale_photos_are_converted_to_rgb_with_a_warning(data, tmp_path, caplog):
    grey = tmp_path / "grey"
    grey.mkdir()
    for i in range(3):
        Image.fromarray(np.full((32, 32), 60 * i, np.uint8), mode="L").save(grey / f"g{i}.png")
    with caplog.at_level("WARNING", logger="refiner.data"):
        run(compose_refine(f"data.sim={data / 'sim'}", f"data.real={grey}", f"out_dir={tmp_path / 'o3'}",
                           "trainer.max_steps=1", "evaluate=false"))
    assert "data.grayscale=true" in caplog.text and "read as RGB" in caplog.text
    assert DatasetReader(tmp_path / "o3").manifest.status == "complete"


def test_another_config_is_refused_before_training_and_overwrite_replaces_whole(data, tmp_path):
    out = tmp_path / "refined"
    run(_cfg(data, out, "evaluate=false", steps=2))
    work = out.parent / "refined_refiner"
    ckpt_before = (work / "checkpoints" / "last.ckpt").stat().st_mtime_ns
    images_before = (out / "images" / "000000.png").read_bytes()
    with pytest.raises(DatasetError, match=r"another config \(refiner.loss.fg.adv: 1.0 -> 0.5\)") as err:
        run(_cfg(data, out, "evaluate=false", "refiner.loss.fg.adv=0.5", steps=2))
    assert "\n" not in str(err.value) and "overwrite=true" in str(err.value)
    assert (work / "checkpoints" / "last.ckpt").stat().st_mtime_ns == ckpt_before  # nothing trained
    assert (out / "images" / "000000.png").read_bytes() == images_before

    run(_cfg(data, out, "evaluate=false", "refiner.loss.fg.adv=0.5", "overwrite=true", steps=2))
    refined = DatasetReader(out)
    assert refined.manifest.status == "complete" and len(refined) == len(DatasetReader(data / "sim"))
    assert refined.manifest.provenance["config"]["refiner"]["loss"]["fg"]["adv"] == 0.5
    assert not list(tmp_path.glob(".refined.*"))  # the staging folder was swapped in, the old one removed


def test_refiner_never_writes_into_its_inputs_or_foreign_folders(data, tmp_path):
    with pytest.raises(ConfigError, match="is data.sim"):
        run(_cfg(data, data / "sim"))
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_bytes(b"x")
    with pytest.raises(DatasetError, match="holds files that are not a refined set"):
        run(_cfg(data, foreign))
    assert (foreign / "holiday.jpg").read_bytes() == b"x"


def test_camera_refiner_runs_through_the_stage_and_reports_what_it_learned(data, tmp_path):
    out = tmp_path / "refined"
    with pytest.warns(UserWarning, match="broken.png"):
        res = run(_cfg(data, out, "data.batch_size=4", refiner="camera", steps=4))
    src = data / "sim"
    assert (out / "annotations.json").read_bytes() == (src / "annotations.json").read_bytes()
    refined, sim = DatasetReader(out), DatasetReader(src)
    changed = [np.abs(refined.image(i).astype(int) - sim.image(i).astype(int)).mean() for i in range(len(sim))]
    assert all(0.1 < c < 20 for c in changed), changed  # a camera's change: noise, tone, no repaint
    metrics = json.loads(Path(res["metrics_path"]).read_text())
    assert metrics["camera.read_noise"] > 0 and metrics["camera.saturation.spread"] > 0
    # applying again from the checkpoint gives the same bytes: each image's draw is seeded by it
    again = tmp_path / "again"
    run(_cfg(data, again, "train=false", f"ckpt_path={res['checkpoint']}", "evaluate=false", refiner="camera"))
    assert all(np.array_equal(DatasetReader(again).image(i), refined.image(i)) for i in range(len(sim)))


def test_camera_refiner_warns_about_a_batch_too_small_for_its_statistics(data, tmp_path, caplog):
    with pytest.warns(UserWarning, match="broken.png"):
        run(_cfg(data, tmp_path / "refined", "evaluate=false", refiner="camera", steps=1))
    assert "data.batch_size=1 is too small" in caplog.text


def test_progress_bar_counts_refiner_steps_not_epochs(data, tmp_path, capsys):
    """Lightning titled the refiner's bar "Epoch 1/-2" (a refiner stops by steps, max_epochs=-1)."""
    run(_cfg(data, tmp_path / "refined", "trainer.enable_progress_bar=true", "evaluate=false", steps=2))
    shown = capsys.readouterr().out
    assert "refiner, 2 steps" in shown and "/-2" not in shown
