"""The dataset contract: writer atomicity and resume, reader round trip, derived datasets."""
import json
import os
import stat
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from sim2real import atomic
from sim2real.dataset import DatasetWriter, Manifest, DatasetReader, derive_dataset
from sim2real.errors import DatasetError
from sim2real.masks import annotations_from_ids, decode_rle
from sim2real.synthetic import make_shapes_dataset


def _writer(root, n=3, config=None):
    return DatasetWriter(root, name="t", kind="sim", classes=["a", "b"], num_images=n, seed=0,
                         config=config or {"k": 1})


def _image(i):
    img = np.full((8, 8, 3), i * 20, np.uint8)
    ids = np.zeros((8, 8), np.uint16)
    ids[1:4, 2:6] = 1
    return img, ids


def test_round_trip_masks_boxes_and_meta(tmp_path):
    w = _writer(tmp_path / "d")
    for i in range(3):
        img, ids = _image(i)
        w.add(i, image=img, mask=ids, annotations=annotations_from_ids(ids, {1: 2}), meta={"i": i})
    assert w.finalize().status == "complete"
    d = DatasetReader(tmp_path / "d", require_complete=True)
    assert len(d) == 3 and d.classes == ["a", "b"]
    rec = d.records[2]
    np.testing.assert_allclose(rec.boxes, [[2, 1, 6, 4]])
    assert rec.labels == ["b"] and rec.instance_ids == [1] and rec.meta == {"i": 2}
    assert (decode_rle(rec.segmentations[0]) == (d.mask(2) == 1)).all()
    coco = json.loads((tmp_path / "d" / "annotations.json").read_text())
    assert [a["id"] for a in coco["annotations"]] == [1, 2, 3]
    assert all("instance_id" in a for a in coco["annotations"])


def test_partial_until_all_images_then_resume_completes(tmp_path):
    w = _writer(tmp_path / "d")
    img, ids = _image(0)
    w.add(0, image=img, mask=ids, annotations=[], meta={})
    assert w.finalize().status == "partial"
    assert Manifest.load(tmp_path / "d").status == "partial"
    w2 = _writer(tmp_path / "d")  # same config: resumes
    assert w2.done_indices() == {0}
    for i in (1, 2):
        w2.add(i, image=img, mask=ids, annotations=[], meta={})
    assert w2.finalize().status == "complete"
    assert len(DatasetReader(tmp_path / "d")) == 3


def test_other_config_is_refused_and_nothing_is_lost(tmp_path):
    w = _writer(tmp_path / "d")
    img, ids = _image(0)
    w.add(0, image=img, mask=ids, annotations=[], meta={})
    with pytest.raises(DatasetError, match="another config"):
        _writer(tmp_path / "d", config={"k": 2})
    assert (tmp_path / "d" / "images" / "000000.png").is_file()
    assert _writer(tmp_path / "d").done_indices() == {0}


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "x.json"
    atomic.write_json(target, {"v": 1})

    def torn(p):
        p.write_text('{"v": 2, "trunc')
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        atomic.write_with(target, torn)
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_written_files_get_the_umask_permissions_not_owner_only(tmp_path):
    """mkstemp makes 0600 files; a dataset or report must be readable as a plain open() makes it."""
    umask = os.umask(0o022)
    os.umask(umask)
    w = _writer(tmp_path / "d")
    img, ids = _image(0)
    w.add(0, image=img, mask=ids, annotations=[], meta={})
    atomic.write_json(tmp_path / "m.json", {"v": 1})
    for path in [tmp_path / "m.json", tmp_path / "d" / "images" / "000000.png", tmp_path / "d" / "masks" / "000000.png"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path


def test_killed_writer_process_resumes_to_a_valid_dataset(tmp_path):
    root = tmp_path / "d"
    script = textwrap.dedent(f"""
        import os, signal
        from sim2real.synthetic import make_shapes_dataset
        import sim2real.dataset as ds
        real_add = ds.DatasetWriter.add
        def add(self, index, **kw):
            if index == 3:
                os.kill(os.getpid(), signal.SIGKILL)
            real_add(self, index, **kw)
        ds.DatasetWriter.add = add
        make_shapes_dataset({str(root)!r}, num_images=6, seed=3)
    """)
    proc = subprocess.run([sys.executable, "-c", script])
    assert proc.returncode != 0
    assert Manifest.load(root).status == "partial"
    make_shapes_dataset(root, num_images=6, seed=3)
    d = DatasetReader(root, require_complete=True)
    assert [r.image_id for r in d.records] == [1, 2, 3, 4, 5, 6]
    fresh = DatasetReader(make_shapes_dataset(tmp_path / "fresh", num_images=6, seed=3))
    assert [r.boxes.tolist() for r in d.records] == [r.boxes.tolist() for r in fresh.records]
    assert not list(root.rglob("*.tmp"))


def test_derived_dataset_keeps_annotations_byte_identical(tmp_path):
    src = DatasetReader(make_shapes_dataset(tmp_path / "sim", num_images=4))
    out = derive_dataset(src, tmp_path / "refined", kind="refined", provenance={"checkpoint": "c.ckpt"})
    assert out.pending() == [0, 1, 2, 3]
    for i in out.pending():
        out.write(i, 255 - src.image(i))
    assert out.finalize().status == "complete"
    assert (tmp_path / "refined" / "annotations.json").read_bytes() == (tmp_path / "sim" / "annotations.json").read_bytes()
    refined = DatasetReader(tmp_path / "refined", require_complete=True)
    assert refined.manifest.kind == "refined" and refined.manifest.provenance["checkpoint"] == "c.ckpt"
    assert (refined.image(0) == 255 - src.image(0)).all() and (refined.mask(1) == src.mask(1)).all()
    with pytest.raises(DatasetError, match="differs from source size"):
        out.write(0, np.zeros((3, 3, 3), np.uint8))


def test_reader_refuses_missing_manifest_and_escaping_paths(tmp_path):
    with pytest.raises(DatasetError, match="no dataset.json"):
        DatasetReader(tmp_path)
    root = make_shapes_dataset(tmp_path / "d", num_images=1)
    coco = json.loads((root / "annotations.json").read_text())
    coco["images"][0]["file_name"] = "../../etc/passwd"
    (root / "annotations.json").write_text(json.dumps(coco))
    with pytest.raises(DatasetError, match="escapes"):
        DatasetReader(root)
