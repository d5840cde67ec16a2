"""Readers for real data: COCO, VOC, YOLO, plain folders; safety and image-mode handling."""
import json
import warnings

import numpy as np
import pytest
from PIL import Image

from sim2real.errors import DatasetError
from sim2real.images import SkipCounter, read_rgb
from sim2real.readers import detect_format, load_labelled, load_unlabelled


def _png(path, size=(32, 24), mode="RGB", colour=(200, 10, 10)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, colour if mode == "RGB" else 128).save(path)
    return path


def _coco(tmp_path, file_name="a.png"):
    _png(tmp_path / "a.png")
    coco = {
        "images": [{"id": 7, "file_name": file_name, "width": 32, "height": 24}],
        "annotations": [
            {"id": 1, "image_id": 7, "category_id": 3, "bbox": [2, 4, 10, 6], "area": 60, "iscrowd": 0},
            {"id": 2, "image_id": 7, "category_id": 5, "bbox": [0, 0, 5, 5], "area": 25, "iscrowd": 0},
        ],
        "categories": [{"id": 3, "name": "can"}, {"id": 5, "name": "bottle"}],
    }
    (tmp_path / "annotations.json").write_text(json.dumps(coco))
    return tmp_path


def test_coco_folder_is_detected_and_read(tmp_path):
    root = _coco(tmp_path)
    assert detect_format(root) == "coco"
    data = load_labelled(root)
    rec = data.records[0]
    assert data.fmt == "coco" and data.classes == ["can", "bottle"]
    np.testing.assert_allclose(rec.boxes[0], [2, 4, 12, 10])
    assert rec.labels == ["can", "bottle"] and rec.image_id == 7


def test_coco_json_file_path_works(tmp_path):
    root = _coco(tmp_path)
    assert load_labelled(root / "annotations.json").records[0].image_path == (root / "a.png").resolve()


@pytest.mark.parametrize("bad", ["../outside.png", "/etc/passwd", "sub/../../x.png"])
def test_coco_path_escape_is_refused(tmp_path, bad):
    root = _coco(tmp_path, file_name=bad)
    with pytest.raises(DatasetError, match="escapes the dataset root"):
        load_labelled(root)


def test_a_label_that_maps_nowhere_is_an_error_listing_both_sides(tmp_path):
    root = _coco(tmp_path)
    with pytest.raises(DatasetError, match=r"labels \['bottle'\] map onto none of the classes \['soda_can'\]"):
        load_labelled(root, classes=["soda_can"], class_map={"can": "soda_can"})


def test_ignored_labels_are_dropped_and_counted(tmp_path, caplog):
    caplog.set_level("INFO")
    root = _coco(tmp_path)
    data = load_labelled(root, classes=["soda_can"], class_map={"can": "soda_can"}, ignore_labels=["bottle"])
    rec = data.records[0]
    assert rec.labels == ["soda_can"] and len(rec.boxes) == 1
    assert data.unmapped == {"bottle": 1}
    assert "bottle" in caplog.text


def test_scene_classes_merge_through_the_class_map(tmp_path):
    root = _coco(tmp_path)
    data = load_labelled(root, classes=["container"], class_map={"can": "container", "bottle": "container"})
    assert data.records[0].labels == ["container", "container"] and data.classes == ["container"]


def test_class_map_onto_unknown_class_is_an_error(tmp_path):
    root = _coco(tmp_path)
    with pytest.raises(DatasetError, match="class_map"):
        load_labelled(root, classes=["soda_can"], class_map={"can": "nope"})


def _voc(tmp_path):
    _png(tmp_path / "JPEGImages" / "img1.png")
    (tmp_path / "Annotations").mkdir()
    (tmp_path / "Annotations" / "img1.xml").write_text(
        "<annotation><filename>img1.png</filename><size><width>32</width><height>24</height></size>"
        "<object><name>can</name><difficult>0</difficult><bndbox><xmin>3</xmin><ymin>5</ymin>"
        "<xmax>12</xmax><ymax>10</ymax></bndbox></object></annotation>"
    )
    (tmp_path / "ImageSets" / "Main").mkdir(parents=True)
    (tmp_path / "ImageSets" / "Main" / "test.txt").write_text("img1\n")
    return tmp_path


def test_voc_with_split(tmp_path):
    root = _voc(tmp_path)
    assert detect_format(root) == "voc"
    data = load_labelled(root, split="test")
    np.testing.assert_allclose(data.records[0].boxes[0], [2, 4, 12, 10])
    assert data.records[0].labels == ["can"]
    with pytest.raises(DatasetError, match="split 'val'"):
        load_labelled(root, split="val")


def test_voc_filename_escape_is_refused(tmp_path):
    root = _voc(tmp_path)
    xml = root / "Annotations" / "img1.xml"
    xml.write_text(xml.read_text().replace("<filename>img1.png", "<filename>../../x.png"))
    with pytest.raises(DatasetError, match="escapes"):
        load_labelled(root)


def test_yolo_with_names_file(tmp_path):
    _png(tmp_path / "images" / "b.png", size=(40, 20))
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "b.txt").write_text("1 0.5 0.5 0.5 0.5\n")
    (tmp_path / "classes.txt").write_text("can\nbottle\n")
    assert detect_format(tmp_path) == "yolo"
    data = load_labelled(tmp_path)
    np.testing.assert_allclose(data.records[0].boxes[0], [10, 5, 30, 15])
    assert data.records[0].labels == ["bottle"]


def test_yolo_bad_class_index_names_the_file_and_line(tmp_path):
    _png(tmp_path / "images" / "b.png")
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "b.txt").write_text("0 0.5 0.5 0.1 0.1\n9 0.5 0.5 0.5 0.5\n")
    (tmp_path / "data.yaml").write_text("names: [can]\n")
    with pytest.raises(DatasetError, match=r"b\.txt:2"):
        load_labelled(tmp_path)


def test_plain_folder_and_corrupt_image_is_counted_and_skipped(tmp_path):
    _png(tmp_path / "ok.png")
    (tmp_path / "broken.jpg").write_bytes(b"not an image at all")
    assert detect_format(tmp_path) == "folder"
    paths = load_unlabelled(tmp_path)
    assert len(paths) == 2
    counter = SkipCounter("real images")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        images = [counter.read(p) for p in paths]
    assert sum(img is None for img in images) == 1
    assert len(counter.skipped) == 1 and counter.skipped[0].name == "broken.jpg"
    assert any("broken.jpg" in str(w.message) for w in caught)


def test_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="no images"):
        load_unlabelled(tmp_path)


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "I;16", "CMYK"])
def test_every_image_mode_becomes_rgb_uint8(tmp_path, mode):
    path = tmp_path / f"x.{'tif' if mode == 'CMYK' else 'png'}"
    if mode == "I;16":
        Image.fromarray(np.full((5, 6), 65535, np.uint16)).save(path)
    elif mode == "RGBA":
        Image.new("RGBA", (6, 5), (255, 0, 0, 255)).save(path)
    else:
        Image.new(mode, (6, 5)).save(path)
    arr = read_rgb(path)
    assert arr.shape == (5, 6, 3) and arr.dtype == np.uint8
    if mode == "I;16":
        assert arr.max() == 255  # scaled from 16 bit, not clipped garbage
    if mode == "RGBA":
        assert tuple(arr[0, 0]) == (255, 0, 0)
