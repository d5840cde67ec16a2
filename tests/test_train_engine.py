"""Lightning engine: resume from the last checkpoint, the finetune schedule, DDP on 2 CPU processes."""
from __future__ import annotations

import json

import pytest
import torch

from sim2real.errors import Sim2RealError
from tests.test_train_common import FAST, compose_train, shapes
from train.run import run

ENGINE = [o for o in FAST if not o.startswith("trainer.max_")] + ["plots=false", "slices=none"]


def test_resume_continues_from_last_checkpoint(tmp_path):
    sim = shapes(tmp_path, "sim", num_images=10)
    test = shapes(tmp_path, "test", num_images=2, style="real", seed=3)
    common = [f"data.train=[{sim}]", f"data.test={test}", f"out_dir={tmp_path / 'run'}", *ENGINE,
              "early_stopping.patience=null"]
    run(compose_train(*common, "trainer.max_epochs=1"))
    ckpt_dir = tmp_path / "run" / "checkpoints" / "merged"
    first = torch.load(ckpt_dir / "last.ckpt", weights_only=False)
    assert first["epoch"] == 0 and (ckpt_dir / "done.json").is_file()
    (ckpt_dir / "done.json").unlink()  # as if the run had been killed before finishing
    run(compose_train(*common, "trainer.max_epochs=2", "ckpt_path=last"))
    second = torch.load(ckpt_dir / "last.ckpt", weights_only=False)
    assert second["global_step"] == 2 * first["global_step"]  # one more epoch, not two
    # a finished stage is not trained again
    result = run(compose_train(*common, "trainer.max_epochs=2", "ckpt_path=last"))
    assert torch.load(ckpt_dir / "last.ckpt", weights_only=False)["global_step"] == second["global_step"]
    assert "test/map50" in result["metrics"]
    # a fresh run into the same out_dir with a bad data path fails before clearing its checkpoints
    bad = [o for o in common if not o.startswith("data.test=")] + [f"data.test={tmp_path / 'nope'}"]
    with pytest.raises(Sim2RealError, match="nope"):
        run(compose_train(*bad, "trainer.max_epochs=1"))
    assert (ckpt_dir / "last.ckpt").is_file()


def test_last_checkpoint_is_written_every_epoch_even_without_a_better_score(tmp_path):
    sim = shapes(tmp_path, "sim", num_images=10)
    test = shapes(tmp_path, "test", num_images=2, style="real", seed=3)
    # lr 0: the weights never change, so validation never improves after the first epoch
    run(compose_train(f"data.train=[{sim}]", f"data.test={test}", f"out_dir={tmp_path / 'run'}", *ENGINE,
                      "trainer.max_epochs=3", "early_stopping.patience=null", "detector.optimizer.lr=0"))
    phase = tmp_path / "run" / "checkpoints" / "merged"
    assert torch.load(phase / "last.ckpt", weights_only=False)["epoch"] == 2  # what ckpt_path=last resumes
    assert torch.load(phase / "best.ckpt", weights_only=False)["epoch"] == 0
    assert sorted(p.name for p in phase.iterdir()) == ["best.ckpt", "done.json", "last.ckpt"]


def test_max_steps_that_end_a_phase_mid_epoch_leave_early_stopping_alone(tmp_path):
    sim = shapes(tmp_path, "sim", num_images=12)  # 5 steps an epoch: 1 step ends before any validation
    test = shapes(tmp_path, "test", num_images=2, style="real", seed=3)
    result = run(compose_train(f"data.train=[{sim}]", f"data.test={test}", f"out_dir={tmp_path / 'run'}", *ENGINE,
                               "trainer.max_epochs=1", "trainer.max_steps=1"))
    assert torch.load(tmp_path / "run" / "checkpoints" / "merged" / "last.ckpt", weights_only=False)["global_step"] == 1
    assert "test/map50" in result["metrics"]


def test_finetune_schedule_trains_synthetic_then_real(tmp_path):
    sim = shapes(tmp_path, "sim", num_images=8)
    real = shapes(tmp_path, "real", num_images=10, style="real", seed=2)
    test = shapes(tmp_path, "test", num_images=2, style="real", seed=3)
    result = run(compose_train(f"data.train=[{sim}]", f"data.real_train={real}", "data.real_fraction=0.5",
                               f"data.test={test}", f"out_dir={tmp_path / 'run'}", "schedule=finetune",
                               "trainer.max_epochs=1", "finetune.max_epochs=1", "finetune.cycles=1", *ENGINE))
    assert set(result["info"]["checkpoints"]) == {"synthetic", "finetune"}
    stages = tmp_path / "run" / "checkpoints"
    assert (stages / "synthetic" / "done.json").is_file() and (stages / "finetune" / "done.json").is_file()


def test_finetune_cycles_restart_the_learning_rate(tmp_path):
    sim = shapes(tmp_path, "sim", num_images=8)
    real = shapes(tmp_path, "real", num_images=10, style="real", seed=2)
    test = shapes(tmp_path, "test", num_images=2, style="real", seed=3)
    common = [f"data.train=[{sim}]", f"data.real_train={real}", "data.real_fraction=0.5", f"data.test={test}",
              "schedule=finetune", "trainer.max_epochs=1", "finetune.max_epochs=2", "data.val_fraction=0", *ENGINE]
    result = run(compose_train(*common, f"out_dir={tmp_path / 'run'}", "finetune.cycles=2"))
    assert list(result["info"]["checkpoints"]) == ["synthetic", "finetune", "finetune2"]
    stages = tmp_path / "run" / "checkpoints"
    first, second = (torch.load(stages / p / "last.ckpt", weights_only=False) for p in ("finetune", "finetune2"))
    # each cycle counts its own steps and ends its own cosine: the second one starts over
    assert second["global_step"] == first["global_step"] > 0
    assert second["lr_schedulers"][0]["last_epoch"] == first["lr_schedulers"][0]["last_epoch"]
    assert second["optimizer_states"][0]["param_groups"][0]["lr"] == pytest.approx(
        first["optimizer_states"][0]["param_groups"][0]["lr"])
    with pytest.raises(Sim2RealError, match="finetune.cycles must be at least 1"):
        run(compose_train(*common, f"out_dir={tmp_path / 'bad'}", "finetune.cycles=0"))
    assert not (tmp_path / "bad").exists()


def test_ddp_on_two_cpu_processes(cli, tmp_path):
    sim = shapes(tmp_path, "sim", num_images=12)
    test = shapes(tmp_path, "test", num_images=2, style="real", seed=3)
    out = tmp_path / "run"
    proc = cli("sim2real-train", "trainer=ddp", f"data.train=[{sim}]", f"data.test={test}", f"out_dir={out}",
               "trainer.max_epochs=1", "trainer.enable_progress_bar=false", "data.batch_size=2", "logger=none",
               "num_threads=1", "plots=false", "slices=none", "data.val_fraction=0.2", timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert "test/map50" in metrics
    ckpt = torch.load(out / "checkpoints" / "merged" / "last.ckpt", weights_only=False)
    # 10 training images split over 2 ranks (5 each), batch 2, last partial batch dropped -> 2 steps
    # (one process would take 5)
    assert ckpt["global_step"] == 2


def test_another_config_is_refused_before_work_unless_overwrite(tmp_path):
    sim = shapes(tmp_path, "sim", num_images=6)
    other = shapes(tmp_path, "other", num_images=6, seed=5)
    test = shapes(tmp_path, "test", num_images=2, style="real", seed=3)
    out = tmp_path / "run"
    common = [f"data.test={test}", f"out_dir={out}", *ENGINE, "trainer.max_epochs=1"]
    run(compose_train(*common, f"data.train=[{sim}]"))
    metrics = (out / "metrics.json").read_bytes()
    ckpt = (out / "checkpoints" / "merged" / "last.ckpt").stat().st_mtime_ns
    with pytest.raises(Sim2RealError, match=r"ckpt_path=last would resume a run of another config \(data.train") as err:
        run(compose_train(*common, f"data.train=[{other}]", "ckpt_path=last"))
    assert "\n" not in str(err.value) and "overwrite=true" in str(err.value)
    with pytest.raises(Sim2RealError, match="this run would replace a run of another config"):
        run(compose_train(*common, f"data.train=[{other}]"))
    assert (out / "metrics.json").read_bytes() == metrics  # nothing touched
    assert (out / "checkpoints" / "merged" / "last.ckpt").stat().st_mtime_ns == ckpt
    # the same config resumes, training longer included; overwrite=true starts over
    run(compose_train(*[o for o in common if o != "trainer.max_epochs=1"], "trainer.max_epochs=2",
                      f"data.train=[{sim}]", "ckpt_path=last"))
    result = run(compose_train(*common, f"data.train=[{other}]", "overwrite=true"))
    assert json.loads((out / "run.json").read_text())["config"]["data"]["train"] == [str(other)]
    assert "test/map50" in result["metrics"]


def test_checkpoints_without_a_run_record_are_never_resumed_as_ours(tmp_path):
    """A folder an older version trained in has checkpoints and no run.json: ``ckpt_path=last``
    refuses it, and ``overwrite=true`` (as the pipeline passes) trains again instead of reusing it."""
    sim = shapes(tmp_path, "sim", num_images=6)
    test = shapes(tmp_path, "test", num_images=2, style="real", seed=3)
    out = tmp_path / "run"
    common = [f"data.test={test}", f"out_dir={out}", f"data.train=[{sim}]", *ENGINE, "trainer.max_epochs=1"]
    run(compose_train(*common))
    (out / "run.json").unlink()  # as an older version left it
    done = out / "checkpoints" / "merged" / "done.json"
    with pytest.raises(Sim2RealError, match=r"ckpt_path=last would resume a run of another config \(checkpoints in .* "
                                            r"but no run.json says which config made them\)"):
        run(compose_train(*common, "ckpt_path=last"))
    before = done.stat().st_mtime_ns
    run(compose_train(*common, "ckpt_path=last", "overwrite=true"))
    assert done.stat().st_mtime_ns != before and (out / "run.json").is_file()  # trained again, recorded
