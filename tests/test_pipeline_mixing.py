"""train.mixing: which mixes train from scratch, which fine-tune a shared pretraining, and how."""
import pytest

from sim2real.errors import ConfigError
from pipeline.mixes import parse_mix
from pipeline.mixing import content_addressed, mix_overrides, plan_phases
from tests.test_train_common import FAST, compose_train, shapes


def test_finetune_shares_one_pretraining_per_synthetic_source():
    first, second = plan_phases(["sim+real10", "real10", "refined+real10", "refined+real50"], "finetune")
    assert first == ["real10", "sim", "refined"]  # the bases are added, after what was asked for
    assert second == ["sim+real10", "refined+real10", "refined+real50"]
    first, second = plan_phases(["sim", "sim+real10", "real100"], "merged")
    assert first == ["sim", "sim+real10", "real100"] and second == []
    with pytest.raises(ConfigError, match="train.mixing must be one of"):
        plan_phases(["sim"], "stacked")


def test_balanced_draws_half_real():
    assert mix_overrides(parse_mix("sim+real10"), "balanced") == ["data.weights=[1,1]"]
    assert mix_overrides(parse_mix("sim+refined+real10"), "balanced") == ["data.weights=[1,1,2]"]
    assert mix_overrides(parse_mix("sim"), "balanced") == [] == mix_overrides(parse_mix("sim+real10"), "merged")


def test_a_retrained_base_gets_a_new_init_path(tmp_path):
    ckpt = tmp_path / "best.ckpt"
    ckpt.write_bytes(b"weights one")
    a = content_addressed(ckpt, tmp_path / "store")
    assert content_addressed(ckpt, tmp_path / "store") == a
    ckpt.write_bytes(b"weights two")
    b = content_addressed(ckpt, tmp_path / "store")
    assert b != a and b.read_bytes() == b"weights two" and a.read_bytes() == b"weights one"


def test_init_skips_the_synthetic_stage_and_starts_from_the_checkpoint(tmp_path):
    from train.run import run

    sim = shapes(tmp_path, "sim", num_images=8)
    real = shapes(tmp_path, "real", num_images=8, style="real", seed=2)
    test = shapes(tmp_path, "test", num_images=4, style="real", seed=3)
    common = [f"data.test={test}", "plots=false", "slices=none", "data.val_fraction=0", *FAST]
    base = run(compose_train(f"data.train=[{sim}]", f"out_dir={tmp_path / 'base'}", "trainer.max_steps=6", *common))
    init = base["info"]["checkpoints"]["merged"]
    # no fine-tuning epoch: the detector scored must be the init detector itself
    tuned = run(compose_train(f"data.train=[{sim}]", f"data.real_train={real}", "data.real_fraction=1",
                              "schedule=finetune", f"init={init}", "finetune.max_epochs=0", "finetune.cycles=1",
                              f"out_dir={tmp_path / 'tuned'}", *common))
    assert list(tuned["info"]["checkpoints"]) == ["finetune"] and tuned["info"]["init"] == init
    for key in ("test/map50", "test/map", "test/mar_100"):
        assert tuned["metrics"][key] == pytest.approx(base["metrics"][key])
    with pytest.raises(ConfigError, match="needs schedule=finetune"):
        run(compose_train(f"data.train=[{sim}]", f"init={init}", f"out_dir={tmp_path / 'bad'}", *common))


def test_finetune_keeps_drawing_renders_by_default(tmp_path):
    from train.plan import build_plan
    from train.run import _phases

    sim = shapes(tmp_path, "sim", num_images=8)
    real = shapes(tmp_path, "real", num_images=8, style="real", seed=2)
    common = [f"data.train=[{sim}]", f"data.real_train={real}", "data.real_fraction=1", "schedule=finetune"]
    default = compose_train(*common)  # the measured rule: two cycles, 30 % renders in each batch
    phases = _phases(default, build_plan(default))
    assert [s[0] for s in phases] == ["synthetic", "finetune", "finetune2"]
    for name, parts, epochs, lr_scale, weights in phases[1:]:
        assert [p.real for p in parts] == [False, True] and weights == [0.3, 0.7]
        assert (epochs, lr_scale) == (6, 0.5)
    cfg = compose_train(*common, "finetune.synthetic_share=0.25", "finetune.cycles=1")
    phases = _phases(cfg, build_plan(cfg))
    assert [s[0] for s in phases] == ["synthetic", "finetune"] and phases[1][4] == [0.25, 0.75]
    real_only = compose_train(*common, "finetune.synthetic_share=0")
    assert [[p.real for p in s[1]] for s in _phases(real_only, build_plan(real_only))[1:]] == [[True], [True]]
