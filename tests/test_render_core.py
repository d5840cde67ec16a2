"""Render stage without Blender renders: config schema, sampling, placement, geometry, post camera."""
from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ConfigKeyError

from render import proxy_camera
from render.exr import read_exr
from render.geometry import box, crush, dent, revolve, cylinder_profile
from render.renderer import to_config
from render.sampling import Catalog, sample_image
from render.scenes import create as create_scene
from render.validate import check_config, shard_range
from sim2real.app import CONF_DIR
from pipeline.config import register_configs
from sim2real.errors import ConfigError

register_configs()


def compose_render(*overrides: str):
    with initialize_config_dir(CONF_DIR, version_base="1.3"):
        return compose("render", overrides=["logger=none", *overrides])


def catalog(scene: str) -> Catalog:
    kind = create_scene(scene)
    return Catalog(kind.target_meshes(), kind.distractor_meshes(), ["city", "forest"], [])


@pytest.mark.parametrize("scene", ["primitives", "containers", "drink_containers"])
@pytest.mark.parametrize("reality", ["sim", "proxy_real"])
def test_every_preset_composes_and_samples_deterministically(scene, reality):
    cfg = to_config(compose_render(f"scene={scene}", f"reality={reality}"))
    check_config(cfg)
    kind, cat = create_scene(scene), catalog(scene)
    for index in range(5):
        a, ga = sample_image(cfg, index, kind, cat)
        b, gb = sample_image(cfg, index, kind, cat)
        assert a == b and ga.keys() == gb.keys()
        assert a["seed"] != sample_image(cfg, index + 1, kind, cat)[0]["seed"]
        for key in ("seed", "index", "scene", "reality", "num_objects", "num_distractors", "occluders",
                    "lighting", "background", "camera", "ground", "objects"):
            assert key in a
        assert set(a["lighting"]) >= {"kind", "num_lights", "hdri", "energy", "color_temperature_k"}
        assert set(a["camera"]) >= {"distance", "elevation_deg", "azimuth_deg", "focal_mm", "roll_deg"}
        for o in a["objects"]:
            assert set(o) >= {"instance_id", "class", "scale", "location", "rotation_euler", "material"}
            assert o["class"] in cfg.scene.classes


def test_ground_objects_do_not_overlap():
    cfg = to_config(compose_render("scene.objects.count=[6,6]"))
    kind, cat = create_scene("primitives"), catalog("primitives")
    for index in range(10):
        meta, _ = sample_image(cfg, index, kind, cat)
        xy = np.array([o["location"][:2] for o in meta["objects"]])
        d = np.linalg.norm(xy[:, None] - xy[None], axis=-1) + np.eye(len(xy)) * 99
        assert d.min() > 0.3


def test_unknown_key_fails_naming_it():
    with pytest.raises((ConfigCompositionException, ConfigKeyError), match="not_a_key"):
        compose_render("not_a_key=1")
    with pytest.raises((ConfigCompositionException, ConfigKeyError), match="bogus"):
        compose_render("scene.objects.bogus=3")


def test_cli_unknown_key_fails_naming_it(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "render.cli", "not_a_key=1", f"hydra.run.dir={tmp_path}"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "not_a_key" in proc.stderr


def test_impossible_placement_is_one_clear_line():
    cfg = to_config(compose_render("scene.objects.count=[40,40]", "scene.objects.placement.area_radius=1.0"))
    with pytest.raises(ConfigError, match="impossible placement.*area_radius") as err:
        check_config(cfg)
    assert "\n" not in str(err.value)


def test_photo_background_weight_without_photos_is_warned(caplog):
    check_config(to_config(compose_render("reality=proxy_real")))
    assert "photo_dir" not in caplog.text
    check_config(to_config(compose_render("reality=proxy_real", "reality.background.weights.photo=0.5")))
    assert "reality.background.photo_dir is not set" in caplog.text and "['hdri']" in caplog.text


def test_missing_asset_is_named(tmp_path):
    missing = tmp_path / "nope.obj"
    cfg = to_config(compose_render(f"scene.assets=[{{path: {missing}, class_name: thing}}]"))
    with pytest.raises(ConfigError, match="nope.obj"):
        check_config(cfg)


def test_shards_cover_every_index_once():
    seen = [i for k in range(3) for i in shard_range(10, k, 3)]
    assert sorted(seen) == list(range(10))


def test_geometry_deformations_keep_split_vertices_together():
    m = revolve(cylinder_profile(0.4, 1.0), 16)
    rng = np.random.default_rng(0)
    v = dent(crush(m.verts, rng, amount=0.3), rng, count=2, depth=0.1, width=0.2)
    # Vertices that coincided before (hard edges) still coincide: no cracks.
    _, inverse = np.unique(m.verts.round(9), axis=0, return_inverse=True)
    for group in np.unique(inverse):
        pts = v[inverse.ravel() == group]
        assert np.allclose(pts, pts[0])
    assert box().verts.shape == (150, 3)


def test_camera_model_is_deterministic_and_changes_the_look():
    cfg = to_config(compose_render("reality=proxy_real"))
    rng = np.random.default_rng(0)
    linear = rng.uniform(0, 1, (32, 32, 3)).astype(np.float32)
    p = proxy_camera.sample_params(np.random.default_rng(1), cfg.reality.camera_model)
    a, b = proxy_camera.apply(linear, p), proxy_camera.apply(linear, p)
    assert a.shape == (32, 32, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)


def test_exr_reader_rejects_other_files(tmp_path):
    bad = tmp_path / "x.exr"
    bad.write_bytes(b"not an exr")
    with pytest.raises(ValueError, match="not an OpenEXR"):
        read_exr(bad)


def test_rows_layout_places_objects_on_a_grid_without_overlap():
    cfg = to_config(compose_render("scene.objects.placement.mode=rows", "scene.objects.count=[5,5]"))
    meta, _ = sample_image(cfg, 0, create_scene("primitives"), catalog("primitives"))
    xy = np.array([o["location"][:2] for o in meta["objects"]])
    d = np.linalg.norm(xy[:, None] - xy[None], axis=-1) + np.eye(5) * 99
    assert d.min() > 1.0  # pitch is twice the largest bounding radius


def test_containers_stack_rests_the_top_layer_above_the_bottom():
    cfg = to_config(compose_render("scene=containers", "scene.objects.count=[5,5]",
                                   "scene.containers.arrangement_weights={stack: 1.0}",
                                   "scene.objects.negative_fraction=0"))
    meta, _ = sample_image(cfg, 0, create_scene("containers"), catalog("containers"))
    z = sorted(o["location"][2] for o in meta["objects"])
    assert z[-1] > z[0] + 0.5


def test_photo_grounds_are_drawn_only_when_asked_and_leave_other_draws_alone():
    plain = to_config(compose_render("scene=primitives"))
    photo = to_config(compose_render("scene=primitives", "reality.materials.ground_image_prob=1.0"))
    kind = create_scene("primitives")
    cat = Catalog(kind.target_meshes(), kind.distractor_meshes(), [], [], textures=["hdri:city", "hdri:forest"])
    for i in range(4):
        a, _ = sample_image(plain, i, kind, cat)
        b, _ = sample_image(photo, i, kind, cat)
        assert "image" not in a["ground"] and b["ground"]["image"]["name"] in cat.textures
        assert {k: v for k, v in b["ground"].items() if k != "image"} == a["ground"]
        assert a["objects"] == b["objects"] and a["camera"] == b["camera"]


def test_relative_azimuth_sees_the_objects_from_one_side_and_leaves_other_draws_alone():
    kind, cat = create_scene("primitives"), catalog("primitives")
    world = to_config(compose_render("scene.camera.azimuth_deg=[80,100]"))
    side = to_config(compose_render("scene.camera.azimuth_deg=[80,100]", "scene.camera.azimuth_relative=true"))
    for i in range(20):
        a, _ = sample_image(world, i, kind, cat)
        b, _ = sample_image(side, i, kind, cat)
        assert a["objects"] == b["objects"] and a["camera"]["distance"] == b["camera"]["distance"]
        assert 80 <= a["camera"]["azimuth_deg"] <= 100
        if b["objects"]:
            offset = (b["camera"]["azimuth_deg"] - math.degrees(b["objects"][0]["rotation_euler"][2])) % 360
            assert 79.9 <= offset <= 100.1


def test_sets_rendered_before_the_fit_keys_existed_keep_their_fingerprint():
    """``fit`` says how a scene was found and ``scene.camera.azimuth_relative=false`` renders as
    before it existed: neither enters the resume key, so older sets still resume and match."""
    from render.run import plain_config, resume_key
    from sim2real.dataset import fingerprint

    config = plain_config(compose_render("scene=cards", "fit.trials=7"))
    older = {k: v for k, v in config.items() if k != "fit"}
    older["scene"] = {**older["scene"], "camera": {k: v for k, v in older["scene"]["camera"].items()
                                                   if k != "azimuth_relative"}}
    assert fingerprint(resume_key(config)) == fingerprint(resume_key(older))
    side = plain_config(compose_render("scene=cards", "scene.camera.azimuth_relative=true"))
    assert fingerprint(resume_key(side)) != fingerprint(resume_key(config))  # it changes the renders
