"""`sim2real-refine trainer=ddp`: two CPU processes on gloo train together and write the set."""
from __future__ import annotations

import os
import subprocess
import sys

import torch

from sim2real.dataset import DatasetReader
from sim2real.synthetic import make_image_folder, make_shapes_dataset


def test_ddp_two_cpu_processes(tmp_path):
    make_shapes_dataset(tmp_path / "sim", num_images=4, size=32, style="sim")
    make_image_folder(tmp_path / "real", num_images=4, size=32)
    out = tmp_path / "refined"
    cmd = [sys.executable, "-m", "refiner.cli", "refiner=fastcut", "trainer=ddp", "trainer.devices=2",
           f"data.sim={tmp_path / 'sim'}", f"data.real={tmp_path / 'real'}", f"out_dir={out}",
           "trainer.max_steps=2", "refiner.task_net.steps=2", "refiner.task_net.crop=32", "evaluate=false",
           "logger=none", "trainer.enable_progress_bar=false", "refiner.net.ngf=8", "refiner.net.n_blocks=1",
           "data.crop=32", f"hydra.run.dir={tmp_path / 'hydra'}"]
    env = {**os.environ, "WANDB_MODE": "disabled"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Starting with 2 processes" in proc.stdout + proc.stderr
    ckpt = torch.load(tmp_path / "refined_refiner" / "checkpoints" / "last.ckpt", weights_only=False)
    assert ckpt["refiner_step"] == 2
    assert DatasetReader(out).manifest.status == "complete"
