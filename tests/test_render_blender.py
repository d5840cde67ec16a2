"""Render stage with real Blender renders (64x64, few samples)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from render.run import run
from sim2real.app import CONF_DIR
from pipeline.config import register_configs
from sim2real.dataset import DatasetReader
from sim2real.errors import ConfigError, Sim2RealError
from sim2real.masks import bbox_of, decode_rle

register_configs()
FAST = ["resolution=64", "reality.samples=4", "progress=false", "logger=none"]


def render(tmp: Path, *overrides: str, name: str = "ds") -> tuple[dict, DatasetReader]:
    with initialize_config_dir(CONF_DIR, version_base="1.3"):
        cfg = compose("render", overrides=[*FAST, f"out_dir={tmp / name}", *overrides])
    result = run(cfg)
    return result, DatasetReader(tmp / name, require_complete=True)


def assert_labels_exact(ds: DatasetReader) -> int:
    """Every annotation's RLE, box and area agree with the 16-bit id map to the pixel."""
    boxes = 0
    for i, rec in enumerate(ds.records):
        ids = ds.mask(i)
        assert ids.shape == (64, 64) and ds.image(i).shape == (64, 64, 3)
        annotated = set(rec.instance_ids)
        assert annotated == set(np.unique(ids).tolist()) - {0}
        classes = {o["instance_id"]: o["class"] for o in rec.meta["objects"]}
        for inst, seg, box, label in zip(rec.instance_ids, rec.segmentations, rec.boxes, rec.labels):
            binary = ids == inst
            assert np.array_equal(decode_rle(seg), binary)
            x, y, w, h = bbox_of(binary)
            assert np.allclose(box, [x, y, x + w, y + h])
            assert classes[inst] == label
            boxes += 1
    return boxes


@pytest.mark.parametrize("scene,reality", [("primitives", "sim"), ("primitives", "proxy_real"),
                                           ("containers", "sim"), ("drink_containers", "proxy_real")])
def test_preset_renders_with_exact_labels(tmp_path, scene, reality):
    result, ds = render(tmp_path, f"scene={scene}", f"reality={reality}", "num_images=3", "workers=0",
                        "scene.objects.negative_fraction=0")
    assert result["num_images"] == 3 and result["status"] == "complete" and len(ds) == 3
    assert assert_labels_exact(ds) > 0
    assert ds.records[0].meta["scene"] == scene and ds.records[0].meta["reality"] == reality
    assert ds.manifest.kind == ("real" if reality == "proxy_real" else "sim")
    depth = np.load(tmp_path / "ds" / "depth" / "000000.npy")
    assert depth.shape == (64, 64) and np.isfinite(depth[ds.mask(0) > 0]).all()


def test_same_config_twice_gives_identical_dataset(tmp_path):
    _, a = render(tmp_path, "num_images=3", "workers=0", name="a")
    _, b = render(tmp_path, "num_images=3", "workers=1", name="b")  # in a worker process this time
    for i in range(3):
        assert np.array_equal(a.image(i), b.image(i))
        assert np.array_equal(a.mask(i), b.mask(i))
    ann = [json.loads((d.root / "annotations.json").read_text()) for d in (a, b)]
    assert ann[0]["annotations"] == ann[1]["annotations"]
    assert [i["meta"] for i in ann[0]["images"]] == [i["meta"] for i in ann[1]["images"]]


def test_shards_fill_one_dataset_and_the_last_completes_it(tmp_path):
    with initialize_config_dir(CONF_DIR, version_base="1.3"):
        cfgs = [compose("render", overrides=[*FAST, f"out_dir={tmp_path / 'ds'}", "num_images=4", "workers=0",
                                            f"shard.index={k}", "shard.count=2"]) for k in range(2)]
    assert run(cfgs[0])["status"] == "partial"
    assert run(cfgs[1])["status"] == "complete"
    ds = DatasetReader(tmp_path / "ds", require_complete=True)
    assert sorted(r.meta["index"] for r in ds.records) == [0, 1, 2, 3]
    assert run(cfgs[0])["rendered"] == 0  # resume: nothing left to do


def test_user_obj_asset_is_imported_and_labelled(tmp_path):
    obj = tmp_path / "wedge.obj"
    obj.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 3 2\nf 1 2 4\nf 2 3 4\nf 3 1 4\n")
    _, ds = render(tmp_path, "num_images=2", "workers=0", "scene.include_builtin=false",
                   "scene.objects.count=[2,3]", "scene.occluders.prob=0",
                   f"scene.assets=[{{path: {obj}, class_name: wedge, scale: [0.8, 1.2]}}]")
    assert ds.classes == ["wedge"]
    assert assert_labels_exact(ds) > 0
    assert set(sum((r.labels for r in ds.records), [])) == {"wedge"}


def test_unreadable_asset_fails_naming_the_file(tmp_path):
    bad = tmp_path / "broken.glb"
    bad.write_bytes(b"this is not a glTF file")
    with pytest.raises(ConfigError, match="broken.glb"):
        render(tmp_path, "num_images=1", "workers=0", f"scene.assets=[{{path: {bad}, class_name: thing}}]")


def test_resume_after_kill_ends_complete_without_duplicates(tmp_path):
    out = tmp_path / "ds"
    cmd = [sys.executable, "-m", "render.cli", *FAST, "num_images=12", "workers=1", f"out_dir={out}",
           f"hydra.run.dir={tmp_path / 'hydra'}"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(out.glob(".records/*.json"))) < 3:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its render worker, mid-run
    proc.wait()
    done_before = len(list((out / ".records").glob("*.json")))
    assert 0 < done_before < 12
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    ds = DatasetReader(out, require_complete=True)
    indices = [r.meta["index"] for r in ds.records]
    assert sorted(indices) == list(range(12))
    assert len({r.image_path for r in ds.records}) == 12
    assert_labels_exact(ds)  # every image and mask decodes: no torn file is part of the dataset


def _write_asset(path: Path) -> None:
    """A small tetrahedron in the given format (text formats by hand, .blend through bpy)."""
    v = [(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1)]
    f = [(0, 2, 1), (0, 1, 3), (1, 2, 3), (2, 0, 3)]
    if path.suffix == ".stl":
        lines = ["solid t"]
        for tri in f:
            lines += ["facet normal 0 0 0", "outer loop", *(f"vertex {' '.join(map(str, v[i]))}" for i in tri),
                      "endloop", "endfacet"]
        path.write_text("\n".join(lines + ["endsolid t"]) + "\n")
    elif path.suffix == ".ply":
        head = ["ply", "format ascii 1.0", "element vertex 4", "property float x", "property float y",
                "property float z", "element face 4", "property list uchar int vertex_indices", "end_header"]
        path.write_text("\n".join(head + [" ".join(map(str, p)) for p in v] + [f"3 {a} {b} {c}" for a, b, c in f]) + "\n")
    elif path.suffix == ".blend":
        import bpy

        mesh = bpy.data.meshes.new("tetra")
        mesh.from_pydata(v, [], f)
        obj = bpy.data.objects.new("tetra", mesh)
        bpy.data.libraries.write(str(path), {obj})
        bpy.data.objects.remove(obj)


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".stl", ".ply", ".blend"])
def test_other_asset_formats_import_and_are_labelled(tmp_path, suffix):
    path = tmp_path / f"tetra{suffix}"
    _write_asset(path)
    _, ds = render(tmp_path, "num_images=2", "workers=0", "scene.include_builtin=false",
                   "scene.objects.count=[2,3]", "scene.occluders.prob=0",
                   f"scene.assets=[{{path: {path}, class_name: tetra}}]")
    assert ds.classes == ["tetra"] and assert_labels_exact(ds) > 0


def test_lone_object_is_unoccluded_and_occlusion_is_recorded(tmp_path):
    _, ds = render(tmp_path, "num_images=3", "workers=0", "scene.objects.count=[1,1]",
                   "scene.distractors.count=[0,0]", "scene.occluders.prob=0", "scene.camera.look_at_jitter=0",
                   "scene.camera.distance=[4,4]", "scene.objects.scale=[1.2,1.2]",
                   "scene.objects.negative_fraction=0")
    ann = json.loads((ds.root / "annotations.json").read_text())["annotations"]
    assert len(ann) == 3
    for a in ann:
        assert 0.0 <= a["occlusion"] < 0.1 and a["truncation"] < 0.1


def test_watchdog_kills_a_silent_worker_retries_then_gives_up(tmp_path):
    # Any worker is "hung" under a 0.05 s watchdog (starting a process and importing Blender
    # takes longer): it is killed, its image re-queued once, and the second hang stops the run.
    with pytest.raises(Sim2RealError, match=r"image 0: render worker hung .* 2 times"):
        render(tmp_path, "num_images=1", "workers=1", "watchdog_s=0.05")


def test_proxy_real_is_deterministic_too(tmp_path):
    _, a = render(tmp_path, "num_images=2", "workers=0", "reality=proxy_real", name="a")
    _, b = render(tmp_path, "num_images=2", "workers=0", "reality=proxy_real", name="b")
    for i in range(2):
        assert np.array_equal(a.image(i), b.image(i)) and np.array_equal(a.mask(i), b.mask(i))
    assert a.records[0].meta["camera_model"] == b.records[0].meta["camera_model"]


def test_api_accepts_a_plain_partial_config(tmp_path):
    from omegaconf import OmegaConf

    cfg = OmegaConf.create({"num_images": 1, "resolution": 32, "out_dir": str(tmp_path / "p"), "workers": 0,
                            "progress": False, "logger": {"mode": "disabled"}, "reality": {"samples": 2}})
    result = run(cfg)
    assert result["status"] == "complete" and result["num_images"] == 1
    assert DatasetReader(tmp_path / "p").classes == ["cube", "sphere", "cylinder", "cone", "torus"]


def test_intrinsics_fix_the_frame_and_the_projection_matches_blender(tmp_path):
    """A 4:3 camera with an off-centre principal point: the frame has its size, and the occlusion
    raster (our own projection) agrees with what Cycles drew for a lone, unoccluded object."""
    intrinsics = tmp_path / "camera.json"
    intrinsics.write_text(json.dumps({"fx": 70.0, "fy": 70.0, "cx": 40.0, "cy": 20.0, "width": 64, "height": 48}))
    _, ds = render(tmp_path, "num_images=3", "workers=0", "scene.objects.count=[1,1]",
                   "scene.distractors.count=[0,0]", "scene.occluders.prob=0", "scene.camera.look_at_jitter=0",
                   "scene.camera.distance=[6,6]", "scene.objects.negative_fraction=0",
                   f"scene.camera.intrinsics={intrinsics}")
    for i, rec in enumerate(ds.records):
        assert ds.image(i).shape == (48, 64, 3) and ds.mask(i).shape == (48, 64)
        cam = rec.meta["camera"]
        assert cam["focal_mm"] == pytest.approx(70.0 * 36 / 64) and cam["shift"] == [-0.125, -0.0625]
    ann = json.loads((ds.root / "annotations.json").read_text())["annotations"]
    assert len(ann) == 3 and all(a["occlusion"] < 0.1 for a in ann)
    # the look-at point (the object) sits at the principal point, not at the frame centre
    for rec in ds.records:
        x0, y0, x1, y1 = rec.boxes[0]
        assert abs((x0 + x1) / 2 - 40.0) < 4 and abs((y0 + y1) / 2 - 20.0) < 4


def test_a_photo_ground_adds_background_clutter(tmp_path):
    """The measured gap to real photos: procedural grounds are 4-5x smoother (docs/benchmarks.md)."""
    from scipy import ndimage

    common = ["num_images=2", "workers=0", "scene.ground.visible_prob=1", "scene.ground.materials=[plain]",
              "scene.distractors.count=[0,0]", "scene.occluders.prob=0", "scene.camera.elevation_deg=[70,80]"]
    _, plain = render(tmp_path, *common, name="plain")
    _, photo = render(tmp_path, *common, "reality.materials.ground_image_prob=1.0", name="photo")

    def clutter(ds):
        out = []
        for i in range(len(ds)):
            grey = ds.image(i).mean(2) / 255.0
            out.append(np.hypot(ndimage.sobel(grey, 0), ndimage.sobel(grey, 1))[ds.mask(i) == 0].mean())
        return float(np.mean(out))

    assert all("image" in r.meta["ground"] for r in photo.records)
    assert clutter(photo) > 2 * clutter(plain)
