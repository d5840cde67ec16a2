"""The W&B helper: disabled means no run; offline writes a local run holding the config."""
import pytest

from sim2real import tracking
from sim2real.errors import ConfigError


def test_disabled_starts_nothing(tmp_path):
    assert tracking.start_run({"mode": "disabled"}, config={}, job_type="t", out_dir=tmp_path) is None
    assert tracking.lightning_logger({"mode": "disabled"}, config={}, job_type="t", out_dir=tmp_path) is False


def test_bad_mode_names_the_key(tmp_path):
    with pytest.raises(ConfigError, match="logger.mode"):
        tracking.start_run({"mode": "sometimes"}, config={}, job_type="t", out_dir=tmp_path)


def test_offline_run_logs_config_locally(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    run = tracking.start_run({"mode": "offline", "project": "p"}, config={"a": {"b": 1}},
                             job_type="test", out_dir=tmp_path)
    try:
        assert run.config["a"] == {"b": 1}
        tracking.log_metrics({"test/x": 1.0})
    finally:
        tracking.finish()
    assert list((tmp_path / "wandb").glob("offline-run-*"))
