"""Sweeps: the Optuna search over FG/BG weights (two trials through the joblib launcher, stored in
sqlite), and every ``-m`` job of each command in its own ``out_dir/<job number>``."""
import json

import pytest

from sim2real.synthetic import make_image_folder, make_shapes_dataset


def test_fgbg_optuna_two_trials_with_joblib(tmp_path, cli):
    optuna = pytest.importorskip("optuna")
    sim = make_shapes_dataset(tmp_path / "sim", num_images=6, size=32, style="sim")
    real = make_image_folder(tmp_path / "real", num_images=6, size=32)
    val = make_shapes_dataset(tmp_path / "val", num_images=4, size=32, style="real", seed=9)
    db = tmp_path / "study.db"
    res = cli("sim2real-refine", "-m", "hparams_search=fgbg_optuna", "hydra/launcher=local",
              "hydra.sweeper.n_trials=2", "hydra.sweeper.n_jobs=2", f"hydra.sweeper.storage=sqlite:///{db}",
              f"hydra.sweep.dir={tmp_path / 'multirun'}", f"data.sim={sim}", f"data.real={real}",
              f"objective.val={val}", "data.crop=32", "trainer.max_steps=2", "refiner.task_net.steps=2",
              "refiner.metrics.c2st.steps=2", "objective.train_overrides=['trainer.max_epochs=1','data.batch_size=2']",
              f"out_dir={tmp_path}/trials/${{hydra:job.override_dirname}}", timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    study = optuna.load_study(study_name="fgbg", storage=f"sqlite:///{db}")
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) == 2
    assert all(0.0 <= t.value <= 1.0 for t in done)
    assert all(set(t.params) == {"refiner.loss.fg.adv", "refiner.loss.fg.reg", "refiner.loss.bg.adv",
                                 "refiner.loss.bg.reg"} for t in done)
    assert len(list((tmp_path / "trials").glob("*/dataset.json"))) == 2


def test_refine_sweep_gives_every_job_its_own_out_dir(tmp_path, cli):
    sim = make_shapes_dataset(tmp_path / "sim", num_images=4, size=32, style="sim")
    real = make_image_folder(tmp_path / "real", num_images=4, size=32)
    out = tmp_path / "refined"
    res = cli("sim2real-refine", "-m", "refiner.loss.fg.adv=0.5,1.0", f"hydra.sweep.dir={tmp_path / 'multirun'}",
              f"data.sim={sim}", f"data.real={real}", f"out_dir={out}", "data.crop=32", "trainer.max_steps=1",
              "refiner.task_net.steps=1", "evaluate=false", "logger=none", timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    from sim2real.dataset import DatasetReader

    adv = {DatasetReader(out / job).manifest.provenance["config"]["refiner"]["loss"]["fg"]["adv"] for job in ("0", "1")}
    assert adv == {0.5, 1.0}


def test_render_sweep_gives_every_job_its_own_out_dir(tmp_path, cli):
    out = tmp_path / "renders"
    res = cli("sim2real-render", "-m", "seed=3,4", f"hydra.sweep.dir={tmp_path / 'multirun'}", f"out_dir={out}",
              "num_images=1", "resolution=32", "reality.samples=1", "workers=0", "logger=none", timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    seeds = {json.loads((out / job / "dataset.json").read_text())["config"]["seed"] for job in ("0", "1")}
    assert seeds == {3, 4}
