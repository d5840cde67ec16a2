"""Pipeline pieces that need no stage: mix names, metrics collection, figures, the sample grid."""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sim2real.errors import ConfigError
from pipeline.mixes import parse_mix
from pipeline.report import (collect_metrics, gap_closed, real_fraction_figure, sample_grid, slice_rows,
                             timing_rows)


def test_mix_names():
    assert parse_mix("refined+real10").synthetic == ("refined",)
    assert parse_mix("refined+real10").real_fraction == pytest.approx(0.1)
    assert parse_mix("real100").synthetic == () and parse_mix("real100").real_fraction == 1.0
    assert parse_mix("sim").real_fraction == 0 and not parse_mix("sim").needs_real
    for bad in ("simm", "real0", "real150", "sim+photos"):
        with pytest.raises(ConfigError, match="train.mixes"):
            parse_mix(bad)


def test_collect_metrics_flattens_stage_results():
    detectors = {"sim": {"metrics": {"test/map50": 0.2, "test/map": 0.1, "val/map50": 0.9}},
                 "real10": {"metrics": {"test/map50": 0.4, "test/map": 0.2}}}
    refine = {"metrics": {"realism.c2st.sim": 0.9, "realism.c2st.refined": 0.7, "labels.preservation": 0.97}}
    m = collect_metrics(refine, detectors, {"render": 12.5})
    assert m["detector.sim.map50"] == 0.2 and m["detector.real10.map"] == 0.2
    assert "detector.sim.val/map50" not in m and m["timing_s.render"] == 12.5
    assert m["labels.preservation"] == 0.97


def test_timing_rows_round_and_total():
    rows = timing_rows({"timing_s.render": 342.89, "timing_s.train": 273.29, "realism.c2st.sim": 0.6})
    assert rows == [["render", "343"], ["train", "273"], ["total", "616 (10.3 min)"]]
    assert timing_rows({}) == []


def test_real_fraction_figure_draws_one_line_per_family(tmp_path):
    metrics = {"detector.sim.map50": 0.2, "detector.sim+real10.map50": 0.35, "detector.real10.map50": 0.3,
               "detector.real100.map50": 0.6}
    png = real_fraction_figure(metrics, tmp_path / "f.png")
    assert png is not None and Image.open(png).size[0] > 300
    assert real_fraction_figure({}, tmp_path / "g.png") is None


def test_sample_grid_shape(tmp_path):
    paths = []
    for i in range(3):
        p = tmp_path / f"{i}.png"
        Image.fromarray(np.full((8, 10, 3), 40 * i, np.uint8)).save(p)
        paths.append(p)
    grid = sample_grid({"sim": paths, "real": paths}, scale=1)
    assert grid.shape == (8 * 2 + 4, 10 * 3 + 4 * 2, 3)


def test_summary_rows_put_refinement_against_the_in_domain_ceiling():
    from pipeline.report import summary_rows

    metrics = {"detector.sim.map50": 0.10, "detector.refined.map50": 0.12, "detector.real100.map50": 0.18,
               "realism.c2st.sim": 0.66, "realism.c2st.refined": 0.61, "labels.preservation": 0.98,
               "realism.stats_c2st.sim": float("nan"), "realism.stats_c2st.refined": 0.6}
    rows = dict(summary_rows(metrics))
    assert rows["refined − sim, mAP50"] == "+0.020"
    assert rows["real100 − sim, mAP50 (training on real images: the ceiling for refinement)"] == "+0.080"
    assert rows["share of the sim → real100 gap that refinement closed"] == "25% (sim 0.100 → refined 0.120, real100 0.180)"
    assert rows["c2st: sim → refined (0.5 = like real)"] == "0.660 → 0.610"
    assert not any(k.startswith("stats_c2st") for k in rows)  # NaN: left out
    assert rows["label preservation (1 = all kept)"] == "0.980"
    assert summary_rows({"detector.sim.map50": 0.1}) == []  # on user data without real100 or refined
    unmeasured = dict(summary_rows({"labels.preservation": float("nan"), "labels.iou_sim": 0.0}))
    assert unmeasured["label preservation (1 = all kept)"].startswith("not measured")


def test_camera_rows_pair_each_effect_with_its_spread():
    from pipeline.report import camera_rows

    metrics = {"realism.c2st.sim": 0.6, "camera.blur": 0.45, "camera.blur.spread": 0.05,
               "camera.read_noise": 0.014, "camera.read_noise.spread": 0.1}
    assert camera_rows(metrics) == [["blur", 0.45, 0.05], ["read_noise", 0.014, 0.1]]
    assert camera_rows({"realism.c2st.sim": 0.6}) == []


def test_slice_rows_table():
    detectors = {"sim": {"metrics": {"test/slice/lighting.kind=hdri/map50": 0.5, "test/slice/size=small/map50": 0.1}},
                 "refined": {"metrics": {"test/slice/lighting.kind=hdri/map50": 0.6}}}
    header, rows = slice_rows(detectors)
    assert header == ["slice", "sim", "refined"]
    assert rows == [["lighting.kind=hdri", 0.5, 0.6], ["size=small", 0.1, "-"]]


def _pipeline_cfg(*overrides: str):
    from hydra import compose, initialize_config_dir

    from sim2real.app import CONF_DIR
    from pipeline.config import register_configs

    register_configs()
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return compose(config_name="pipeline", overrides=list(overrides))


def _experiments() -> list[str]:
    from sim2real.app import CONF_DIR

    return sorted(p.stem for p in (Path(CONF_DIR) / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("experiment", _experiments())
def test_experiment_stage_overrides_compose(experiment):
    """Every experiment composes, and every stage override it passes on composes in that stage's config."""
    from pipeline.run import check_stage_overrides

    cfg = _pipeline_cfg(f"experiment={experiment}", "data.root=/any/set")
    assert cfg.refine.overrides or cfg.train.overrides or cfg.render.overrides
    check_stage_overrides(cfg)


@pytest.mark.parametrize("override, message", [
    ('refine.overrides=["refiner=camra"]', r"^refine\.overrides=\['refiner=camra'\]: .*Could not find 'refiner/camra'"),
    ('train.overrides=["trainer.max_epoch=3"]', r"^train\.overrides=.*Could not override 'trainer\.max_epoch'"),
    ('render.overrides=["reality.samples=many"]', r"^render\.overrides=.*reality\.samples"),
])
def test_a_bad_stage_override_fails_before_any_work(tmp_path, override, message):
    from pipeline.run import run

    out = tmp_path / "run"
    with pytest.raises(ConfigError, match=message) as err:
        run(_pipeline_cfg(override, f"out_dir={out}", "logger.mode=disabled"))
    assert "\n" not in str(err.value) and "Config search path" not in str(err.value)
    assert not out.exists()


def test_parallel_stage_runs_raise_the_child_error(tmp_path):
    from sim2real.errors import Sim2RealError
    from pipeline.stages import run_parallel

    runs = {f"train_{k}": [f"data.train=[{tmp_path / k}]", f"out_dir={tmp_path / 'out' / k}", "logger.mode=disabled"]
            for k in ("a", "b")}
    with pytest.raises(Sim2RealError, match=str(tmp_path / "a")):
        run_parallel("train", {"train_a": runs["train_a"]}, state_dir=tmp_path / "state", jobs=2)
    with pytest.raises(Sim2RealError, match="data.train"):  # spawned processes: the error comes back
        run_parallel("train", runs, state_dir=tmp_path / "state", jobs=2)
    assert not (tmp_path / "state").exists()  # nothing recorded as finished


def test_bad_user_data_fails_before_any_rendering(tmp_path):
    from omegaconf import OmegaConf

    from pipeline.config import PipelineDataConfig
    from sim2real.errors import DatasetError
    from pipeline.run import check_user_data

    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(photos / "a.png")

    def data(**kw):
        return OmegaConf.structured(PipelineDataConfig(**kw))

    check_user_data(data(real=str(photos)))  # unlabelled photos are fine for the refiner
    with pytest.raises(DatasetError, match=r"^data\.real: .*nope: no such file or folder$"):
        check_user_data(data(real=str(tmp_path / "nope")))
    with pytest.raises(DatasetError, match=r"data\.real_test=.*without labels"):
        check_user_data(data(real=str(photos), real_test=str(photos)))
    with pytest.raises(ConfigError, match="data.real_train without"):
        check_user_data(data(real_train=str(photos)))


def test_a_stage_that_runs_again_first_drops_its_old_record(tmp_path):
    """Its outputs are about to be overwritten: if the new run dies, no record may claim them."""
    import json

    from sim2real.errors import Sim2RealError
    from pipeline.stages import run_stage

    state = tmp_path / "state"
    state.mkdir()
    marker = state / "train_a.json"
    marker.write_text(json.dumps({"key": "an older config", "overrides": [], "result": {"out_dir": "x"}}))
    with pytest.raises(Sim2RealError):
        run_stage("train", "train_a", [f"data.train=[{tmp_path / 'missing'}]", f"out_dir={tmp_path / 'out'}",
                                       "logger.mode=disabled"], state_dir=state)
    assert not marker.exists()


def test_stage_key_ignores_resuming_but_not_a_given_checkpoint():
    from pipeline.stages import stage_key

    base = {"out_dir": "x", "seed": 0, "ckpt_path": None, "overwrite": False}  # as composed
    assert stage_key({**base, "ckpt_path": "last", "overwrite": True}) == stage_key(base)
    assert stage_key({**base, "ckpt_path": "a.ckpt"}) != stage_key({**base, "ckpt_path": "b.ckpt"})
    objective = {"enabled": False, "val": None}
    assert stage_key({**base, "objective": {**objective, "function": "pipeline.objective.refined_val_map"}}) == \
        stage_key({**base, "objective": objective})  # records made before objective.function still match


def test_equal_budget_gives_real_only_mixes_what_a_fine_tuned_mix_trains_in_all():
    from pipeline.run import Pipeline

    train = 'train.overrides=["trainer.max_epochs=4","finetune.max_epochs=3","finetune.cycles=2"]'
    pipeline = Pipeline(_pipeline_cfg(train, "train.equal_budget=true"))
    assert pipeline.real_only_budget("finetune") == ["trainer.max_epochs=10"]  # 4 + 2 cycles x 3
    assert pipeline.real_only_budget("merged") == []  # no fine-tuning: every mix trains alike
    with_pseudo = Pipeline(_pipeline_cfg(train, "train.equal_budget=true", "train.self_training=true"))
    assert with_pseudo.real_only_budget("finetune") == ["trainer.max_epochs=16"]  # + one 6-epoch round
    assert Pipeline(_pipeline_cfg(train)).real_only_budget("finetune") == []  # off by default


def test_align_gives_the_unlabelled_photos_to_the_mixes_that_train_on_renders(tmp_path):
    from pipeline.run import Pipeline
    from tests.test_train_common import shapes

    paths = {"sim": shapes(tmp_path, "sim", num_images=3), "real": tmp_path / "photos",
             "real_train": tmp_path / "pool", "real_test": tmp_path / "test"}

    def aligned(*overrides):
        pipeline = Pipeline(_pipeline_cfg(f"out_dir={tmp_path / 'out'}", *overrides))
        return {mix: [o for o in pipeline._mix_overrides(mix, paths, tmp_path / "refined", "finetune")
                      if o.startswith("align.")] for mix in ("sim", "refined+real10", "real100")}

    on = aligned("train.align=true")
    assert [str(paths["real"]) in o for o in on["sim"] + on["refined+real10"]] == [True, True]
    assert on["real100"] == []  # no renders: nothing to align
    assert aligned() == {"sim": [], "refined+real10": [], "real100": []}  # off by default


def test_camera_on_the_fly_trains_the_refined_mixes_on_the_renders_through_the_learned_camera(tmp_path):
    from pipeline.run import Pipeline
    from tests.test_train_common import shapes

    paths = {"sim": shapes(tmp_path, "sim", num_images=3), "real": tmp_path / "photos",
             "real_train": tmp_path / "pool", "real_test": tmp_path / "test"}
    pipeline = Pipeline(_pipeline_cfg(f"out_dir={tmp_path / 'out'}", "train.camera_on_the_fly=true",
                                      'refine.overrides=["refiner=camera"]'))
    pipeline.check_camera_on_the_fly()
    pipeline.camera_checkpoint = str(tmp_path / "last.ckpt")
    for mix, camera in (("refined+real10", True), ("refined", True), ("sim", False), ("real100", False)):
        overrides = pipeline._mix_overrides(mix, paths, tmp_path / "refined", "finetune")
        assert [o for o in overrides if o.startswith("data.augment.camera=")] == (
            [f"data.augment.camera='{tmp_path / 'last.ckpt'}'"] if camera else []), mix
        assert not any(str(tmp_path / "refined") in o for o in overrides)  # the renders, not the refined set
    with pytest.raises(ConfigError, match="train.camera_on_the_fly needs refiner=camera"):
        Pipeline(_pipeline_cfg(f"out_dir={tmp_path / 'out'}", "train.camera_on_the_fly=true")).check_camera_on_the_fly()


def test_the_share_of_the_gap_closed_is_said_only_for_a_gap_larger_than_noise():
    assert gap_closed(0.20, 0.25, 0.40) == "25% (sim 0.200 → refined 0.250, real100 0.400)"
    # the calibrated built-in default, seed 1: a 1-point gap made refinement "close" 42 % of it
    assert gap_closed(0.088, 0.090, 0.098).startswith("no gap to close")
    assert gap_closed(0.30, 0.28, 0.20).startswith("none: sim (0.300) already beats real100")
