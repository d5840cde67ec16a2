"""User assets keep their own look: PLY vertex colours, glTF image textures, unit scale, jitter.

Real Blender renders (64 px, 4 samples, in this process); every asset file is written by
the test itself (an ASCII PLY, a hand-made GLB with an embedded PNG).
"""
from __future__ import annotations

import colorsys
import io
import json
import struct
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from PIL import Image

from render.run import run
from sim2real.app import CONF_DIR
from pipeline.config import register_configs
from sim2real.dataset import DatasetReader

register_configs()
FAST = ["resolution=64", "reality.samples=4", "progress=false", "logger=none"]
# One target, nothing in front of it, the camera looking straight at it.
LONE = ["scene.include_builtin=false", "scene.objects.count=[1,1]", "scene.objects.negative_fraction=0",
        "scene.distractors.count=[0,0]", "scene.occluders.prob=0", "scene.camera.look_at_jitter=0",
        "scene.objects.placement.area_radius=0.5"]
# A few white lamps (no panorama, no tinted ambient): a surface's hue is its own.
NEUTRAL_LIGHT = ["reality.lighting.hdri_prob=0", "scene.lights.color_temperature_k=[6500,6500]",
                 "scene.lights.count=[1,3]", "reality.lighting.ambient=[0,0]"]
RED, BLUE = (255, 0, 0), (0, 0, 255)


def render(tmp: Path, asset: str, *overrides: str, name: str = "ds", workers: int = 0) -> DatasetReader:
    with initialize_config_dir(CONF_DIR, version_base="1.3"):
        cfg = compose("render", overrides=[*FAST, *LONE, f"out_dir={tmp / name}", f"scene.assets=[{asset}]",
                                           f"workers={workers}", *overrides])
    run(cfg)
    return DatasetReader(tmp / name, require_complete=True)


def object_pixels(ds: DatasetReader, i: int, instance: int | None = None) -> np.ndarray:
    """The (N, 3) float RGB pixels of image ``i`` inside one instance's mask (default: any), less
    its one-pixel rim, where the object's colour blends with what lies behind it."""
    mask = ds.mask(i) > 0 if instance is None else ds.mask(i) == instance
    inner = np.zeros_like(mask)
    inner[1:-1, 1:-1] = mask[1:-1, 1:-1] & mask[:-2, 1:-1] & mask[2:, 1:-1] & mask[1:-1, :-2] & mask[1:-1, 2:]
    assert inner.sum() > 100, "the object should fill a good part of the frame"
    return ds.image(i)[inner].astype(float)


def red_dominant(px: np.ndarray) -> bool:
    r, g, b = px.mean(0)
    return r > 2 * g + 10 and r > 2 * b + 10


def write_box_ply(path: Path, size: float, colours=None) -> None:
    """An ASCII PLY box (8 vertices, 6 quads) with uchar vertex colours (default all red)."""
    corners = [(x, y, z) for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)]
    colours = colours or [RED] * 8
    faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    head = ["ply", "format ascii 1.0", "element vertex 8", *(f"property float {a}" for a in "xyz"),
            *(f"property uchar {c}" for c in ("red", "green", "blue", "alpha")), "element face 6",
            "property list uchar int vertex_indices", "end_header"]
    verts = [f"{x * size} {y * size} {z * size} {r} {g} {b} 255" for (x, y, z), (r, g, b) in zip(corners, colours)]
    path.write_text("\n".join(head + verts + [f"4 {' '.join(map(str, f))}" for f in faces]) + "\n")


def write_textured_quad_glb(path: Path) -> None:
    """A 1 x 1 UV-mapped quad (glTF 2.0, binary) whose embedded PNG is red on the left, blue on the right."""
    png = io.BytesIO()
    Image.fromarray(np.array([[RED] * 4 + [BLUE] * 4] * 8, np.uint8)).save(png, "PNG")
    pos = np.array([[-0.5, 0, 0.5], [0.5, 0, 0.5], [0.5, 0, -0.5], [-0.5, 0, -0.5]], np.float32)  # y up
    uv = np.array([[0, 1], [1, 1], [1, 0], [0, 0]], np.float32)
    idx = np.array([0, 1, 2, 0, 2, 3], np.uint16)
    chunks = [pos.tobytes(), uv.tobytes(), idx.tobytes(), png.getvalue()]
    views, blob = [], b""
    for k, data in enumerate(chunks):
        views.append({"buffer": 0, "byteOffset": len(blob), "byteLength": len(data)})
        blob += data + b"\0" * (-len(data) % 4)
    gltf = {
        "asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "TEXCOORD_0": 1}, "indices": 2, "material": 0}]}],
        "materials": [{"pbrMetallicRoughness": {"baseColorTexture": {"index": 0}, "metallicFactor": 0.0,
                                                "roughnessFactor": 0.8}}],
        "textures": [{"source": 0, "sampler": 0}], "samplers": [{"magFilter": 9728, "minFilter": 9728}],
        "images": [{"bufferView": 3, "mimeType": "image/png"}],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": 4, "type": "VEC3",
             "min": pos.min(0).tolist(), "max": pos.max(0).tolist()},
            {"bufferView": 1, "componentType": 5126, "count": 4, "type": "VEC2"},
            {"bufferView": 2, "componentType": 5123, "count": 6, "type": "SCALAR"}],
        "bufferViews": views, "buffers": [{"byteLength": len(blob)}],
    }
    text = json.dumps(gltf).encode()
    text += b" " * (-len(text) % 4)
    body = struct.pack("<II", len(text), 0x4E4F534A) + text + struct.pack("<II", len(blob), 0x004E4942) + blob
    path.write_bytes(struct.pack("<III", 0x46546C67, 2, 12 + len(body)) + body)


def test_ply_vertex_colours_are_kept_and_random_replaces_them(tmp_path):
    ply = tmp_path / "red_box.ply"
    write_box_ply(ply, 1.0)
    view = ["num_images=2", "scene.camera.distance=[3,3]", "scene.camera.focal_mm=[35,35]"]
    own = render(tmp_path, f"{{path: {ply}, class_name: box}}", *view, name="own")
    rand = render(tmp_path, f"{{path: {ply}, class_name: box, material: random}}", *view, name="random")
    for i in range(2):
        params = own.records[i].meta["objects"][0]["material_params"]
        assert params == {"name": "own", "own": True,
                          "jitter": {"hue": 0.0, "saturation": 1.0, "value": 1.0, "roughness": 0.0}}
        assert red_dominant(object_pixels(own, i))
        assert rand.records[i].meta["objects"][0]["material"] != "own"
    assert not all(red_dominant(object_pixels(rand, i)) for i in range(2))


def test_glb_image_texture_is_kept(tmp_path):
    glb = tmp_path / "quad.glb"
    write_textured_quad_glb(glb)
    ds = render(tmp_path, f"{{path: {glb}, class_name: quad}}", "num_images=1", "scene.ground.visible_prob=0",
                "scene.camera.elevation_deg=[89,89]", "scene.camera.distance=[2,2]", "scene.camera.focal_mm=[35,35]")
    px = object_pixels(ds, 0)
    r, g, b = px.T
    reds, blues = (r > 2 * b + 20) & (r > 2 * g + 20), (b > 2 * r + 20) & (b > 2 * g + 20)
    assert reds.mean() > 0.3 and blues.mean() > 0.3, (reds.mean(), blues.mean())


def test_unit_scale_turns_millimetres_into_metres(tmp_path):
    mm, m = tmp_path / "box_mm.ply", tmp_path / "box_m.ply"
    write_box_ply(mm, 300.0)
    write_box_ply(m, 0.3)
    view = ["num_images=1", "scene.camera.distance=[1.2,1.2]", "scene.camera.focal_mm=[35,35]"]
    a = render(tmp_path, f"{{path: {mm}, class_name: box, unit_scale: 0.001, normalize: false}}", *view, name="mm")
    b = render(tmp_path, f"{{path: {m}, class_name: box, normalize: false}}", *view, name="m")
    oa, ob = a.records[0].meta["objects"][0], b.records[0].meta["objects"][0]
    assert oa["location"] == ob["location"] and abs(oa["location"][2] - 0.15) < 0.01  # a 0.3 m box resting on z=0
    ma, mb = a.mask(0) > 0, b.mask(0) > 0
    assert ma.sum() > 100 and (ma & mb).sum() / (ma | mb).sum() > 0.98


def linear_hue(px: np.ndarray) -> float:
    """Median hue (0..1) of sRGB pixels in linear light, leaving out clipped ones (they drift to yellow)."""
    px = px / 255
    lin = np.where(px <= 0.04045, px / 12.92, ((px + 0.055) / 1.055) ** 2.4)
    unclipped = lin[lin.max(1) < 0.95]
    assert len(unclipped) > 50
    return float(np.median([colorsys.rgb_to_hsv(*p)[0] for p in unclipped]))


def test_hue_jitter_changes_the_hue_per_image(tmp_path):
    ply = tmp_path / "red_box.ply"
    write_box_ply(ply, 1.0, [(150, 0, 0)] * 8)  # a darker red: fewer pixels clip under bright lamps
    ds = render(tmp_path, f"{{path: {ply}, class_name: box, jitter: {{hue: 0.3}}}}", "num_images=2",
                "scene.camera.distance=[3,3]", "scene.camera.focal_mm=[35,35]", *NEUTRAL_LIGHT)
    shifts = [r.meta["objects"][0]["material_params"]["jitter"]["hue"] for r in ds.records]
    assert all(abs(s) <= 0.3 for s in shifts) and abs(shifts[0] - shifts[1]) > 0.1
    for i, shift in enumerate(shifts):  # red (hue 0) turned by the recorded shift
        assert hue_gap(linear_hue(object_pixels(ds, i)), shift) < 0.04, (i, shift)


def hue_gap(a: float, b: float) -> float:
    gap = abs(a - b) % 1.0
    return min(gap, 1 - gap)


def test_two_instances_get_their_own_jitter_and_a_worker_renders_the_same(tmp_path):
    ply = tmp_path / "red_box.ply"
    write_box_ply(ply, 1.0, [(150, 0, 0)] * 8)
    asset = f"{{path: {ply}, class_name: box, jitter: {{hue: 0.3, saturation: 0.2, roughness: 0.2}}}}"
    view = ["num_images=2", "seed=1", "scene.objects.count=[2,2]", "scene.objects.placement.area_radius=1.5",
            "scene.camera.distance=[5,5]", "scene.camera.focal_mm=[35,35]", *NEUTRAL_LIGHT]
    a = render(tmp_path, asset, *view, name="here")
    b = render(tmp_path, asset, *view, name="worker", workers=1)
    for i in range(2):
        assert np.array_equal(a.image(i), b.image(i)) and np.array_equal(a.mask(i), b.mask(i))
        objects = a.records[i].meta["objects"]
        shifts = [o["material_params"]["jitter"]["hue"] for o in objects]
        assert len(objects) == 2 and hue_gap(*shifts) > 0.1
        for o, shift in zip(objects, shifts):  # each instance shows its own shift
            assert hue_gap(linear_hue(object_pixels(a, i, o["instance_id"])), shift) < 0.04, (i, o["instance_id"])


def test_asset_without_a_look_gets_random_materials_and_says_so(tmp_path, caplog):
    stl = tmp_path / "tetra.stl"  # STL has no materials and no colours
    corners = [(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1)]
    lines = ["solid t"]
    for tri in [(0, 2, 1), (0, 1, 3), (1, 2, 3), (2, 0, 3)]:
        lines += ["facet normal 0 0 0", "outer loop", *(f"vertex {x} {y} {z}" for x, y, z in (corners[i] for i in tri)),
                  "endloop", "endfacet"]
    stl.write_text("\n".join(lines + ["endsolid t"]) + "\n")
    with caplog.at_level("INFO", logger="render.blender.assets"):
        ds = render(tmp_path, f"{{path: {stl}, class_name: tetra}}", "num_images=1", "scene.camera.distance=[3,3]")
    assert ds.records[0].meta["objects"][0]["material"] != "own"
    assert [r.message for r in caplog.records if "tetra.stl" in r.message and "random materials" in r.message]


def test_bad_material_value_is_one_line_naming_the_key(tmp_path):
    ply = tmp_path / "red_box.ply"
    write_box_ply(ply, 1.0)
    # a choice (an enum in render/config.py): refused when the config is composed, before any work
    with initialize_config_dir(CONF_DIR, version_base="1.3"):
        with pytest.raises(ConfigCompositionException) as err:
            compose("render", overrides=["logger=none", f"scene.assets=[{{path: {ply}, class_name: b, material: mine}}]"])
    assert "scene.assets" in str(err.value) and "expected one of [own, random]" in str(err.value.__cause__)
