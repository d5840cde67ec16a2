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


def test_lineage_runs_log_artifacts_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    data = tmp_path / "sim"
    data.mkdir()
    (data / "dataset.json").write_text("{}")
    cfg = {"mode": "offline", "project": "p"}
    tracking.log_lineage(cfg, stage="render", group="g", out_dir=tmp_path, inputs={}, outputs={"g-sim": data})
    tracking.log_lineage(cfg, stage="refine", group="g", out_dir=tmp_path, inputs={"g-sim": data},
                         outputs={"g-refined": data})
    runs = sorted((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 2
