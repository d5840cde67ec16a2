"""``kill -9`` in the middle of the refiner and the detector stages, then the same command
again: it resumes from the last checkpoint (nothing finished is recomputed) and ends complete,
with no temporary file left behind."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from sim2real.dataset import DatasetReader
from sim2real.synthetic import make_image_folder, make_shapes_dataset
from tests.conftest import BIN
from tests.test_train_common import shapes


def run_until(cmd: list[str], cwd: Path, ready, timeout: float = 300) -> None:
    """Start ``cmd`` and ``kill -9`` it (with its children) once ``ready()`` holds."""
    env = {**os.environ, "WANDB_MODE": "disabled"}
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout
    while time.time() < deadline and not ready() and proc.poll() is None:
        time.sleep(0.1)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".tmp") or ".replacing" in p.name]


def test_refiner_killed_midway_resumes_from_its_last_checkpoint(tmp_path):
    sim = make_shapes_dataset(tmp_path / "sim", num_images=4, size=32, style="sim")
    real = make_image_folder(tmp_path / "real", num_images=4, size=32)
    out = tmp_path / "refined"
    ckpts = tmp_path / "refined_refiner" / "checkpoints"
    cmd = [str(BIN / "sim2real-refine"), f"data.sim={sim}", f"data.real={real}", f"out_dir={out}", "data.crop=32",
           "trainer.max_steps=40", "refiner.checkpoint_every_n_steps=5", "refiner.task_net.steps=2",
           "refiner.net.ngf=8", "refiner.net.n_blocks=1", "refiner.net.ndf=8", "evaluate=false", "logger=none",
           "trainer.enable_progress_bar=false", "ckpt_path=last", f"hydra.run.dir={tmp_path / 'hydra'}"]
    run_until(cmd, tmp_path, lambda: (ckpts / "step_000015.ckpt").is_file())  # last.ckpt is at 10 or later
    assert not (out / "dataset.json").is_file()
    step_killed = torch.load(ckpts / "last.ckpt", weights_only=False)["refiner_step"]
    assert 10 <= step_killed < 40
    rerun = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=900,
                           env={**os.environ, "WANDB_MODE": "disabled"})
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert torch.load(ckpts / "last.ckpt", weights_only=False)["refiner_step"] == 40
    assert DatasetReader(out, require_complete=True).manifest.kind == "refined"
    assert not temp_files(tmp_path)


def test_detector_killed_midway_resumes_and_keeps_finished_epochs(tmp_path):
    sim = shapes(tmp_path, "sim", num_images=16)
    test = shapes(tmp_path, "test", num_images=2, style="real", seed=3)
    out = tmp_path / "det"
    ckpt = out / "checkpoints" / "merged" / "last.ckpt"
    cmd = [str(BIN / "sim2real-train"), f"data.train=[{sim}]", f"data.test={test}", f"out_dir={out}",
           "trainer.max_epochs=40", "data.batch_size=2", "logger=none", "plots=false", "slices=none",
           "early_stopping.patience=null", "trainer.enable_progress_bar=false", "num_threads=1", "ckpt_path=last",
           f"hydra.run.dir={tmp_path / 'hydra'}"]
    run_until(cmd, tmp_path, lambda: ckpt.is_file() and torch.load(ckpt, weights_only=False)["epoch"] >= 1)
    epoch_killed = torch.load(ckpt, weights_only=False)["epoch"]
    assert not (out / "metrics.json").is_file()
    longer = [f"trainer.max_epochs={epoch_killed + 2}" if a.startswith("trainer.max_epochs=") else a for a in cmd]
    rerun = subprocess.run(longer, cwd=tmp_path,
                           capture_output=True, text=True, timeout=900, env={**os.environ, "WANDB_MODE": "disabled"})
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    # the rerun trained only the epoch left after the killed checkpoint's, not all over again
    assert torch.load(ckpt, weights_only=False)["epoch"] == epoch_killed + 1
    log = rerun.stdout + rerun.stderr
    assert f"epoch {epoch_killed + 1}: val/map50" in log and "epoch 0: val/map50" not in log
    assert "test/map50" in json.loads((out / "metrics.json").read_text())
    assert not temp_files(tmp_path)


@pytest.mark.slow
def test_pipeline_killed_in_the_refiner_resumes_without_recomputing(tmp_path):
    out = tmp_path / "run"
    cmd = [str(BIN / "sim2real"), "experiment=smoke", f"out_dir={out}",
           'refine.overrides=["trainer.max_steps=60","refiner.checkpoint_every_n_steps=10",'
           '"refiner.task_net.steps=20","refiner.metrics.c2st.steps=20"]']
    ckpts = out / "refined_refiner" / "checkpoints"
    run_until(cmd, tmp_path, lambda: (ckpts / "step_000020.ckpt").is_file(), timeout=1200)
    step_killed = torch.load(ckpts / "last.ckpt", weights_only=False)["refiner_step"]
    assert 10 <= step_killed < 60
    rerun = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=1500,
                           env={**os.environ, "WANDB_MODE": "disabled"})
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    log = rerun.stdout + rerun.stderr
    assert log.count("reusing the finished result") >= 3  # the renders are not made again
    assert torch.load(ckpts / "last.ckpt", weights_only=False)["refiner_step"] == 60
    assert (out / "metrics.json").is_file() and DatasetReader(out / "refined", require_complete=True)
    assert not temp_files(tmp_path)
