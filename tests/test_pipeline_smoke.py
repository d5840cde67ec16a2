"""`sim2real experiment=smoke`: every stage for real (Blender, GAN steps, detectors), tiny."""
import html
import json
from pathlib import Path

import pytest

MIXES = ["sim", "refined", "sim+real10", "refined+real10", "real10", "real100"]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    from tests.conftest import run_cli

    out = tmp_path_factory.mktemp("pipeline") / "run"
    first = run_cli("sim2real", "experiment=smoke", f"out_dir={out}", cwd=out.parent, timeout=1500)
    assert first.returncode == 0, first.stderr[-3000:]
    return out, first


def test_smoke_writes_report_and_metrics(smoke):
    out, _ = smoke
    metrics = json.loads((out / "metrics.json").read_text())
    for mix in MIXES:
        for key in ("map50", "map"):
            value = metrics[f"detector.{mix}.{key}"]
            assert isinstance(value, float) and 0.0 <= value <= 1.0
    for key in ("realism.c2st.sim", "realism.c2st.refined", "labels.preservation",
                "realism.stats_c2st.sim", "realism.stats_c2st.refined"):
        assert isinstance(metrics[key], float)
    for stage in ("render", "refine", "train", "report"):
        assert metrics[f"timing_s.{stage}"] > 0
    report = (out / "report.html").read_text()
    for alt in ("samples", "real fraction", "t-SNE", "predictions refined"):
        assert f"<img alt='{alt}' src='data:image/png;base64," in report
    assert "src='http" not in report and "src=\"http" not in report  # self-contained
    for mix in MIXES:
        assert f"<td>{mix}</td>" in report
    assert "<h2>Camera statistics (median per image)</h2>" in report and "<td>noise</td>" in report
    # the domain analysis: sim against the real training pool (docs/analyze.md)
    assert "<h2>Domain analysis: sim against the real training pool</h2>" in report
    for alt in ("label statistics", "box centres", "coverage worst"):
        assert f"<img alt='{alt}' src='data:image/png;base64," in report
    assert 0.0 <= metrics["analysis.coverage"] <= 1.0 and 0.0 <= metrics["analysis.size"] <= 1.0
    analysis = json.loads((out / "analysis" / "analysis.json").read_text())
    assert analysis["real"]["path"].endswith("/data/real") and html.escape(analysis["verdict"]) in report
    refined = json.loads((out / "refined" / "dataset.json").read_text())
    assert refined["kind"] == "refined" and refined["status"] == "complete"


def test_rerun_reuses_every_stage(smoke):
    from tests.conftest import run_cli

    out, first = smoke
    before = (out / "refined" / "dataset.json").stat().st_mtime_ns
    again = run_cli("sim2real", "experiment=smoke", f"out_dir={out}", cwd=out.parent, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    log = again.stdout + again.stderr
    assert log.count("reusing the finished result") == 3 + 1 + len(MIXES)
    assert (out / "refined" / "dataset.json").stat().st_mtime_ns == before


def test_a_changed_stage_setting_reruns_that_stage_over_its_own_outputs(smoke):
    """The pipeline owns its stage folders: a changed refiner setting reruns the refiner (and
    the detectors on its images) in place, saying so, where the refiner alone would refuse."""
    from tests.conftest import run_cli

    out, _ = smoke
    refine = ('refine.overrides=["trainer.max_steps=20","refiner.task_net.steps=20",'
              '"refiner.metrics.c2st.steps=20","refiner.loss.fg.adv=0.5"]')
    again = run_cli("sim2real", "experiment=smoke", f"out_dir={out}", refine, "train.mixes=[sim,refined]",
                    cwd=out.parent, timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    log = again.stdout + again.stderr
    assert "refine: its settings or its input data changed since the recorded run" in log
    assert "train_sim: reusing the finished result" in log  # its data did not change
    assert "train_refined: its settings or its input data changed" in log  # the refined set did
    refined = json.loads((out / "refined" / "dataset.json").read_text())
    assert refined["status"] == "complete" and refined["provenance"]["config"]["refiner"]["loss"]["fg"]["adv"] == 0.5


def test_a_pipeline_sweep_gives_every_job_its_own_out_dir(smoke, tmp_path):
    """``sim2real -m``: each job in ``out_dir/<job number>``, sharing the smoke run's renders."""
    from tests.conftest import run_cli

    out, _ = smoke
    sweep = tmp_path / "sweep"
    res = run_cli("sim2real", "-m", "experiment=smoke", "seed=1,2", "train.mixes=[sim]", f"data_dir={out / 'data'}",
                  f"out_dir={sweep}", f"hydra.sweep.dir={tmp_path / 'multirun'}", cwd=tmp_path, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    seeds = set()
    for job in ("0", "1"):
        assert isinstance(json.loads((sweep / job / "metrics.json").read_text())["detector.sim.map50"], float)
        seeds.add(json.loads((sweep / job / "detectors" / "sim" / "run.json").read_text())["config"]["seed"])
        assert not (sweep / job / "refined").exists()  # no mix trains on refined images: no refiner
    assert seeds == {1, 2}


def test_readme_two_commands_from_the_pipeline_to_boxes_on_photos(smoke, tmp_path):
    """README "Boxes on your photos": ``sim2real-predict ckpt=<out>/detectors/refined_real10 images=<photos>``."""
    from sim2real.synthetic import make_image_folder
    from tests.conftest import run_cli

    out, _ = smoke
    photos = make_image_folder(tmp_path / "photos", num_images=3, size=80)
    res = run_cli("sim2real-predict", f"ckpt={out / 'detectors' / 'refined_real10'}", f"images={photos}",
                  f"out_dir={tmp_path / 'predict'}", cwd=tmp_path, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert len(list((tmp_path / "predict" / "images").glob("*.jpg"))) == 3
    assert isinstance(json.loads((tmp_path / "predict" / "detections.json").read_text()), list)
