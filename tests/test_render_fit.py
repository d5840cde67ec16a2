"""Scene fit (render/fit.py): projected boxes against real renders, and recovering known parameters."""
from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from pipeline.config import register_configs
from render.fit import fit_scene, worsening, write_fit
from render.projection import camera_matrix
from render.projection_check import check_projection
from render.renderer import to_config
from render.run import run
from sim2real.app import CONF_DIR
from sim2real.errors import ConfigError

register_configs()
FAST = ["resolution=64", "reality.samples=4", "progress=false", "logger=none", "workers=0"]
# the scene the "photos" are rendered with: nearer than the default camera (6-10), one or two objects
TRUE = ["scene.camera.distance=[3.0,3.5]", "scene.objects.count=[1,2]", "scene.objects.negative_fraction=0"]


def compose_render(*overrides: str):
    with initialize_config_dir(CONF_DIR, version_base="1.3"):
        return compose("render", overrides=list(overrides))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fit") / "photos"
    run(compose_render(*FAST, *TRUE, "num_images=32", "seed=5", f"out_dir={out}"))
    return out


def test_camera_matrix_is_blenders_track_to_and_roll():
    import bpy  # noqa: F401  (mathutils comes with bpy)
    from mathutils import Quaternion, Vector

    rng = np.random.default_rng(0)
    for _ in range(50):
        loc, look, roll = rng.normal(size=3) * 5, rng.normal(size=3), float(rng.uniform(-30, 30))
        quat = (Vector(look) - Vector(loc)).to_track_quat("-Z", "Y") @ Quaternion((0, 0, 1), math.radians(roll))
        mine = camera_matrix({"location": list(loc), "look_at": list(look), "roll_deg": roll})
        assert np.allclose(mine[:3, :3], np.array(quat.to_matrix()), atol=1e-5)
        assert np.allclose(mine[:3, 3], loc)


def test_projected_boxes_agree_with_the_rendered_ones(rendered):
    check = check_projection(rendered, max_images=32)
    assert check["mismatched"] == 0 and check["images"] == 32  # every scene sampled again exactly
    assert check["unhidden_objects"] >= 10
    assert check["iou_unhidden"]["median"] > 0.85  # 64-px frames: a pixel of box edge is ~5 % IoU
    assert check["distance"]["count"] < 0.15 and check["distance"]["size"] < 0.25


def test_fit_recovers_the_camera_distance_and_object_count_of_the_rendered_set(rendered, tmp_path):
    cfg = to_config(compose_render(*FAST, "scene.objects.negative_fraction=0", f"fit.real={rendered}",
                                   "fit.params=[camera.distance,objects.count]", "fit.trials=40", "fit.images=64"))
    start = list(cfg.scene.camera.distance)
    assert min(start) > 6 and cfg.scene.objects.count == [1, 6]  # the default scene: far, up to six objects
    result = fit_scene(cfg, progress=False)
    lo, hi = result.cfg.scene.camera.distance
    assert 2.6 < (lo + hi) / 2 < 4.2, (lo, hi)  # the truth is 3.0-3.5
    # the truth is 1-2; on some machines TPE settles on [2, 2] at 3.8 m (more, farther objects in place
    # of fewer, nearer ones: the trade-off the lmo fit made), so the lower end may stay at 2
    assert result.cfg.scene.objects.count[0] <= 2 and result.cfg.scene.objects.count[1] <= 3
    assert result.report["loss"]["fitted"] < 0.5 * result.report["loss"]["start"]
    assert result.report["distance"]["fitted"]["size"] < result.report["distance"]["start"]["size"]

    # with the guard no statistic ends worse than it started
    guarded = fit_scene(replace(cfg, fit=replace(cfg.fit, max_worsen=0.0, trials=12)), progress=False).report
    assert all(guarded["terms"]["fitted"][k] <= guarded["terms"]["start"][k] + 1e-4 for k in guarded["terms"]["start"])
    assert guarded["guarded_trials"] > 0 and result.report["guarded_trials"] == 0

    # the YAML is a scene config a user keeps: Hydra composes it over the base scene
    yaml_path = write_fit(result, "primitives", tmp_path / "fit")
    assert yaml_path == tmp_path / "fit" / "scene" / "primitives_fitted.yaml"
    with initialize_config_dir(CONF_DIR, version_base="1.3"):
        kept = compose("render", overrides=["scene=primitives_fitted", f"hydra.searchpath=[file://{tmp_path / 'fit'}]"])
    assert list(kept.scene.camera.distance) == [lo, hi] and list(kept.scene.objects.count) == result.cfg.scene.objects.count
    assert list(kept.scene.classes) == list(cfg.scene.classes)  # the rest comes from the base scene
    report = json.loads((tmp_path / "fit" / "fit.json").read_text())
    assert report["changes"]["camera.distance"] == [start, [lo, hi]]


def test_the_guard_counts_only_what_got_worse_beyond_the_allowance():
    start = {"size": 0.3, "count": 0.7, "truncated": 0.02}
    assert worsening({"size": 0.1, "count": 0.5, "truncated": 0.02}, start, 0.0) == 0.0  # all better or equal
    assert worsening({"size": 0.5, "count": 0.1, "truncated": 0.12}, start, 0.0) == pytest.approx(0.3)
    assert worsening({"size": 0.5, "count": 0.1, "truncated": 0.12}, start, 0.15) == pytest.approx(0.05)
    assert worsening({"size": 9.0, "count": 9.0, "truncated": 1.0}, start, None) == 0.0  # null: no guard


def test_fit_settings_are_checked_before_any_work():
    with pytest.raises(ConfigError, match="fit.max_worsen"):
        fit_scene(to_config(compose_render("fit.real=somewhere", "fit.max_worsen=-1")))
    with pytest.raises(ConfigError, match="fit.params: unknown"):
        fit_scene(to_config(compose_render("fit.real=somewhere", "fit.params=[camera.zoom]")))
    with pytest.raises(ConfigError, match="fit.real"):
        fit_scene(to_config(compose_render()))


def test_render_with_fit_enabled_renders_the_fitted_scene(rendered, tmp_path):
    out = tmp_path / "fitted"
    summary = run(compose_render(*FAST, "num_images=2", f"out_dir={out}", "fit.enabled=true", f"fit.real={rendered}",
                                 "fit.params=[camera.distance]", "fit.trials=12", "fit.images=32"))
    assert summary["status"] == "complete"
    fit = json.loads((out / "fit" / "fit.json").read_text())
    recorded = json.loads((out / "dataset.json").read_text())["config"]["scene"]["camera"]["distance"]
    assert recorded == fit["values"]["fitted"]["camera.distance"] != fit["values"]["start"]["camera.distance"]
    assert (out / "fit" / "scene" / "primitives_fitted.yaml").is_file()


def test_readme_fit_then_render_the_kept_scene(rendered, tmp_path):
    """README: ``sim2real-fit scene=... fit.real=... out_dir=runs/fit``, then
    ``sim2real-render --config-dir runs/fit scene=<scene>_fitted``."""
    from tests.conftest import run_cli

    fit = run_cli("sim2real-fit", "scene=primitives", f"fit.real={rendered}", "fit.params=[objects.count]",
                  "fit.trials=6", "fit.images=16", f"out_dir={tmp_path / 'fit'}", "progress=false", cwd=tmp_path)
    assert fit.returncode == 0, fit.stderr[-2000:]
    counts = json.loads((tmp_path / "fit" / "fit.json").read_text())["values"]["fitted"]["objects.count"]
    job = run_cli("sim2real-render", "--config-dir", str(tmp_path / "fit"), "scene=primitives_fitted", "--cfg", "job",
                  cwd=tmp_path)
    assert job.returncode == 0, job.stderr[-2000:]
    assert f"count:\n    - {counts[0]}\n    - {counts[1]}" in job.stdout
    bad = run_cli("sim2real-fit", "scene=primitives", f"out_dir={tmp_path / 'none'}", cwd=tmp_path)
    assert bad.returncode == 2 and "fit.real" in bad.stderr and not (tmp_path / "none" / "fit.json").exists()
