"""The real-data curve: a -m sweep over real fractions with and without synthetic data, then the plot."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.test_train_common import shapes

ROOT = Path(__file__).resolve().parents[1]


def test_real_fraction_sweep_and_plot(cli, tmp_path):
    sim = shapes(tmp_path, "sim", num_images=6)
    real = shapes(tmp_path, "real_train", num_images=10, style="real", seed=2)
    test = shapes(tmp_path, "test", num_images=2, style="real", seed=3)
    out = tmp_path / "curve"
    proc = cli("sim2real-train", "-m", "data.real_fraction=0,0.5", f"data.train=[{sim}],[]",
               f"data.real_train={real}", f"data.test={test}", f"out_dir={out}", "trainer.max_epochs=1",
               "trainer.max_steps=1", "trainer.enable_progress_bar=false", "data.batch_size=2", "logger=none",
               "plots=false", "slices=none", "data.val_fraction=0", "num_threads=1", timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = sorted(out.rglob("metrics.json"))
    assert len(runs) == 4  # every job has its own out_dir
    fig = tmp_path / "curve.png"
    plot = subprocess.run([sys.executable, str(ROOT / "scripts" / "plot_real_fraction.py"), str(out), "--out", str(fig)],
                          capture_output=True, text=True, timeout=120)
    assert plot.returncode == 0, plot.stderr
    assert fig.stat().st_size > 1000
    curves = json.loads(fig.with_suffix(".json").read_text())["curves"]
    assert set(curves) == {"real only", "sim + real (merged)"}
    assert [x for x, _ in curves["real only"]] == [0.0, 0.5]
