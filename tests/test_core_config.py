"""Every primary config composes, typed schemas reject bad keys/types, every CLI answers."""
import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ConfigKeyError, ValidationError

from sim2real.app import CONF_DIR
from pipeline.config import register_configs

PRIMARY = ["render", "refine", "train", "pipeline"]
COMMANDS = {"render": "sim2real-render", "refine": "sim2real-refine", "train": "sim2real-train",
            "pipeline": "sim2real"}

register_configs()


@pytest.mark.parametrize("name", PRIMARY)
def test_primary_config_composes(name):
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(config_name=name)
    assert "logger" in cfg and "out_dir" in cfg


@pytest.mark.parametrize("name", PRIMARY)
def test_unknown_key_is_refused_naming_it(name):
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        with pytest.raises((ConfigCompositionException, ConfigKeyError)) as exc:
            compose(config_name=name, overrides=["not_a_key=1"])
    assert "not_a_key" in str(exc.value) + str(exc.value.__cause__)


def test_wrong_type_is_refused_naming_the_key():
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        with pytest.raises((ConfigCompositionException, ValidationError)) as exc:
            compose(config_name="render", overrides=["num_images=many"])
    assert "num_images" in str(exc.value) + str(exc.value.__cause__)


@pytest.mark.parametrize("name", PRIMARY)
def test_cli_help_and_cfg_job(cli, name):
    help_ = cli(COMMANDS[name], "--help")
    assert help_.returncode == 0, help_.stderr
    assert "Configuration groups" in help_.stdout
    job = cli(COMMANDS[name], "--cfg", "job")
    assert job.returncode == 0, job.stderr
    assert "out_dir:" in job.stdout


@pytest.mark.parametrize("name", PRIMARY)
def test_cli_unknown_key_fails_before_work(cli, tmp_path, name):
    res = cli(COMMANDS[name], "not_a_key=1")
    assert res.returncode != 0
    assert "not_a_key" in res.stderr + res.stdout
    assert not any(p.name in ("data", "runs") for p in tmp_path.iterdir())


@pytest.mark.parametrize("name,override,valid", [
    ("refine", "refiner.gan_mode=lsgn", "[lsgan, hinge, vanilla]"),
    ("refine", "logger.mode=bogus", "[offline, online, disabled]"),
    ("render", "scene.objects.placement.mode=flyng", "[ground, flying, rows]"),
    ("train", "schedule=fine", "[merged, finetune]"),
    ("pipeline", "data.fit=squash", "[keep, letterbox, crop]"),
    ("pipeline", "train.mixing=mixed", "[finetune, balanced, merged]"),
])
def test_a_misspelt_choice_fails_at_composition_listing_the_valid_ones(name, override, valid):
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        with pytest.raises((ConfigCompositionException, ValidationError)) as exc:
            compose(config_name=name, overrides=[override])
    assert valid in str(exc.value) + str(exc.value.__cause__)


def test_choices_read_back_as_plain_strings():
    from sim2real.app import resolved

    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(config_name="refine", overrides=["refiner.gan_mode=hinge"])
    assert cfg.refiner.gan_mode == "hinge" and f"{cfg.refiner.gan_mode}" == "hinge"
    assert type(resolved(cfg)["refiner"]["gan_mode"]) is str


def test_pipeline_stage_override_with_a_bad_choice_is_one_line_before_work(cli, tmp_path):
    res = cli("sim2real", 'refine.overrides=["refiner.gan_mode=lsgn"]', f"out_dir={tmp_path / 'run'}",
              f"data_dir={tmp_path / 'data'}")
    assert res.returncode != 0
    line = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert len(line) == 1 and "expected one of [lsgan, hinge, vanilla]" in line[0]
    assert not (tmp_path / "run").exists() and not (tmp_path / "data").exists()


def test_render_of_zero_images_is_refused(tmp_path):
    from render.validate import check_config
    from sim2real.errors import ConfigError

    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(config_name="render", overrides=["num_images=0"])
    with pytest.raises(ConfigError, match="num_images: must be at least 1"):
        check_config(cfg)


@pytest.mark.parametrize("name", PRIMARY)
def test_a_bad_value_from_the_environment_fails_before_work_naming_the_key(tmp_path, name):
    """``logger.mode`` comes from ``WANDB_MODE``: a value it refuses is one line, exit 2, nothing written."""
    import os
    import subprocess

    from tests.conftest import BIN

    env = {**os.environ, "WANDB_MODE": "bogus", "HYDRA_FULL_ERROR": "0"}
    res = subprocess.run([str(BIN / COMMANDS[name]), f"out_dir={tmp_path / 'out'}"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2, res.stderr[-2000:]
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: logger.mode:") and "'bogus'" in errors[0], res.stderr[-2000:]
    assert "Traceback" not in res.stderr and not (tmp_path / "out").exists()
