"""Every layout real sets come in is detected and read right, on sets the tests write themselves."""
import json

import numpy as np
import pytest

from sim2real.errors import DatasetError
from sim2real.readers import detect_format, load_labelled
from tests.realsets import squares, voc_xml, write_bop, write_coco, write_labelimg, write_voc, write_yolo

ITEMS = squares(5)
BOXES = sum(len(b) for _, b, _ in ITEMS)


def _boxes_of(data):
    return [r.boxes for r in data.records]


@pytest.mark.parametrize("writer, fmt", [(write_voc, "voc"), (write_labelimg, "voc"), (write_yolo, "yolo"),
                                         (write_coco, "coco"), (write_bop, "bop")])
def test_each_layout_is_detected_and_gives_back_the_boxes(tmp_path, writer, fmt):
    root = writer(tmp_path / "set", ITEMS)
    assert detect_format(root) == fmt
    data = load_labelled(root)
    assert data.fmt == fmt and len(data) == len(ITEMS) and data.num_boxes == BOXES
    truth = {tuple(map(tuple, b.round(1))) for _, b, _ in ITEMS}
    got = {tuple(map(tuple, b.round(1))) for b in _boxes_of(data)}
    if fmt == "yolo":  # six decimals of normalised coordinates
        got = {tuple(tuple(float(round(v)) for v in box) for box in boxes) for boxes in got}
    assert got == truth
    assert sorted({n for r in data.records for n in r.labels}) == (["bottle", "tin"] if fmt != "bop" else
                                                                    ["obj_000001", "obj_000002"])


def test_voc_finds_the_image_by_stem_when_filename_is_stale(tmp_path):
    """labelImg keeps <filename> after files are renamed: the stem must win (torchvision's rule)."""
    root = write_voc(tmp_path / "voc", ITEMS)
    for xml in (root / "Annotations").glob("*.xml"):
        xml.write_text(xml.read_text().replace(f"<filename>{xml.stem}.jpg", "<filename>DSC_9999.JPG"))
    data = load_labelled(root, split="test")
    assert len(data) == len(ITEMS) and data.num_boxes == BOXES
    assert [r.image_path.stem for r in data.records] == [f"img{i:03d}" for i in range(len(ITEMS))]


def test_voc_falls_back_to_filename_then_to_the_base_of_a_windows_path(tmp_path):
    img, boxes, labels = ITEMS[0]
    folder = tmp_path / "flat"
    folder.mkdir()
    from PIL import Image

    Image.fromarray(img).save(folder / "photo_a.jpg")
    Image.fromarray(img).save(folder / "photo_b.jpg")
    (folder / "ann_1.xml").write_text(voc_xml("photo_a.jpg", img, boxes, labels))
    (folder / "ann_2.xml").write_text(voc_xml("renamed.jpg", img, boxes, labels, path="C:\\Users\\me\\photo_b.jpg"))
    (folder / "ann_3.xml").write_text(voc_xml("gone.jpg", img, boxes, labels, path="C:\\x\\gone.jpg"))
    data = load_labelled(folder)
    assert [r.image_path.name for r in data.records] == ["photo_a.jpg", "photo_b.jpg"]
    assert data.issues.counts == {"missing_image": 1} and data.issues.files["missing_image"][0].endswith("ann_3.xml")


def test_voc_difficult_objects_become_ignore_regions(tmp_path):
    img, boxes, labels = ITEMS[1]
    (tmp_path / "Annotations").mkdir()
    from PIL import Image

    (tmp_path / "JPEGImages").mkdir()
    Image.fromarray(img).save(tmp_path / "JPEGImages" / "a.jpg")
    (tmp_path / "Annotations" / "a.xml").write_text(voc_xml("a.jpg", img, boxes, labels, difficult=[False, True]))
    rec = load_labelled(tmp_path).records[0]
    assert len(rec.boxes) == 2 and rec.ignore.tolist() == [False, True]


def test_labelimg_subfolders_are_splits(tmp_path):
    root = write_labelimg(tmp_path / "cards", ITEMS[:3], folder="train")
    write_labelimg(root, ITEMS[3:], folder="test")
    assert detect_format(root) == "voc"
    assert len(load_labelled(root)) == len(ITEMS)
    assert len(load_labelled(root, split="test")) == 2
    with pytest.raises(DatasetError, match="split 'val' is not a subfolder"):
        load_labelled(root, split="val")


def test_ultralytics_yaml_splits_and_names_dict(tmp_path):
    root = write_yolo(tmp_path / "yolo", ITEMS, val=2)
    assert len(load_labelled(root)) == len(ITEMS)  # the yaml's path points elsewhere: read beside the yaml
    val = load_labelled(root, split="val")
    assert len(val) == 2 and val.classes == ["tin", "bottle"]
    with pytest.raises(DatasetError, match="no split 'test'"):
        load_labelled(root, split="test")


def test_yolo_polygons_become_boxes_and_are_not_misread(tmp_path):
    root = write_yolo(tmp_path / "yolo", ITEMS[:1], val=0)
    label = next((root / "labels" / "train").glob("*.txt"))
    # a triangle: its first four numbers, read as cx cy w h, would give a wrong box
    label.write_text("1 0.25 0.25 0.75 0.25 0.5 0.75\n0.0 0.5 0.5 0.2 0.2\n")
    data = load_labelled(root)
    h, w = ITEMS[0][0].shape[:2]
    np.testing.assert_allclose(data.records[0].boxes[0], [0.25 * w, 0.25 * h, 0.75 * w, 0.75 * h], atol=1e-3)
    assert data.records[0].labels == ["bottle", "tin"]
    assert data.issues.counts == {"polygon": 1, "float_class": 1}


@pytest.mark.parametrize("line, message", [("1.5 0.5 0.5 0.1 0.1", "not a whole number"),
                                           ("0 0.5 0.5 0.1", "expected 'class cx cy w h'"),
                                           ("zero 0.5 0.5 0.1 0.1", "is not a number")])
def test_yolo_bad_lines_name_the_file_and_line(tmp_path, line, message):
    root = write_yolo(tmp_path / "yolo", ITEMS[:1], val=0)
    label = next((root / "labels" / "train").glob("*.txt"))
    label.write_text("0 0.5 0.5 0.1 0.1\n" + line + "\n")
    with pytest.raises(DatasetError, match=rf"{label.name}:2: .*{message}"):
        load_labelled(root)


def test_bad_boxes_are_clipped_or_dropped_and_counted(tmp_path):
    root = write_coco(tmp_path / "coco", ITEMS[:1])
    coco = json.loads((root / "annotations.json").read_text())
    extra = [[-5, -5, 20, 20], [10, 10, -4, 5], [float("nan"), 1, 2, 2], [50, 30, 40, 40]]
    coco["annotations"] += [{"id": 100 + k, "image_id": 1, "category_id": 1, "bbox": b, "iscrowd": 0}
                            for k, b in enumerate(extra)]
    (root / "annotations.json").write_text(json.dumps(coco))
    data = load_labelled(root)
    h, w = ITEMS[0][0].shape[:2]
    assert data.issues.counts == {"clipped": 2, "degenerate": 1, "non_finite": 1}
    rec = data.records[0]
    assert len(rec.boxes) == len(ITEMS[0][1]) + 2
    assert (rec.boxes[:, 2] <= w).all() and (rec.boxes[:, 3] <= h).all() and (rec.boxes >= 0).all()


def test_coco_crowd_regions_are_kept_as_ignore_regions(tmp_path):
    root = write_coco(tmp_path / "coco", ITEMS[:2])
    coco = json.loads((root / "annotations.json").read_text())
    coco["annotations"][0]["iscrowd"] = 1
    (root / "annotations.json").write_text(json.dumps(coco))
    data = load_labelled(root)
    assert data.num_boxes == sum(len(b) for _, b, _ in ITEMS[:2]) and data.num_ignored == 1


def test_bop_visible_boxes_threshold_and_names(tmp_path):
    visib = [[1.0] * len(b) for _, b, _ in ITEMS]
    visib[1] = [0.05, 0.0]  # one barely visible (ignore region), one hidden entirely (dropped)
    root = write_bop(tmp_path / "bop", ITEMS, ids={"tin": 1, "bottle": 5}, visib=visib)
    data = load_labelled(root, names={1: "tin", "5": "bottle"})
    assert data.classes == ["tin", "bottle"]
    assert data.num_boxes == BOXES - 1 and data.num_ignored == 1
    assert data.issues.counts == {"ignored": 1, "invisible": 1}
    rec = data.records[1]
    assert rec.box_attrs[0] == {"visib_fract": 0.05, "occlusion": 0.95}
    assert rec.meta["bop"]["im_id"] == 4 and rec.meta["bop"]["cam_K"][0] == 500.0
    assert len(load_labelled(root / "test")) == len(ITEMS)  # a split folder
    assert len(load_labelled(root / "test" / "000002", min_visib_fract=0.0)) == len(ITEMS)  # a scene folder
    assert load_labelled(root, split="test").num_boxes == data.num_boxes
    with pytest.raises(DatasetError, match="split 'train' not found"):
        load_labelled(root, split="train")


def test_a_labelled_set_that_yields_no_box_is_an_error(tmp_path):
    root = write_yolo(tmp_path / "yolo", ITEMS[:2])
    for label in (root / "labels").rglob("*.txt"):
        label.write_text("")
    with pytest.raises(DatasetError, match=r"data\.real_test=.*read as yolo but holds no boxes.*looked for.*BOP"):
        load_labelled(root, labelled=True, key="data.real_test")
    photos = tmp_path / "photos"
    write_coco(photos, ITEMS[:1])
    (photos / "annotations.json").unlink()
    with pytest.raises(DatasetError, match="a folder of images without labels; looked for .*Pascal VOC"):
        load_labelled(photos, labelled=True)


def test_a_perfect_detector_scores_one_on_a_set_seeded_with_every_defect(tmp_path):
    """Fed the true boxes as predictions, mAP50 is 1.0: the defects neither become phantom
    ground truth (scored as misses) nor misplace a true box."""
    import torch

    from train.data import DetectionDataset
    from train.evaluate import coco_metrics
    from train.sources import load_source

    items = squares(4, size=(48, 64))
    root = write_yolo(tmp_path / "yolo", items, val=0)
    h, w = items[0][0].shape[:2]
    truth = {}
    for i, (_, boxes, labels) in enumerate(items):
        lines = [f"{['tin', 'bottle'].index(n)} {(b[0] + b[2]) / 2 / w:.6f} {(b[1] + b[3]) / 2 / h:.6f} "
                 f"{(b[2] - b[0]) / w:.6f} {(b[3] - b[1]) / h:.6f}" for b, n in zip(boxes, labels)]
        if i == 0:  # the first object written as a polygon (its corners), its class as a float
            x0, y0, x1, y1 = boxes[0] / [w, h, w, h]
            lines[0] = f"{float(['tin', 'bottle'].index(labels[0]))} {x0} {y0} {x1} {y0} {x1} {y1} {x0} {y1}"
        if i == 1:  # an object reaching outside the frame: scored as its visible part
            lines.append("0 0.95 0.5 0.3 0.2")
            boxes = np.vstack([boxes, [0.8 * w, 0.4 * h, w, 0.6 * h]])
            labels = [*labels, "tin"]
        lines += ["0 nan 0.5 0.1 0.1", "1 0.5 0.5 -0.2 0.1", "0 0.5 0.5 0 0.1"]  # NaN, negative, empty
        (root / "labels" / "train" / f"{i:03d}.txt").write_text("\n".join(lines) + "\n")
        truth[f"{i:03d}.jpg"] = (np.asarray(boxes, np.float32), labels)
    source = load_source(root, ["tin", "bottle"], None, key="data.test")
    data = DetectionDataset(source.samples, ["tin", "bottle"], scoring=True)
    targets = [data[k][1] for k in range(len(data))]
    preds = []
    for sample in source.samples:
        boxes, labels = truth[sample.record.image_path.name]
        preds.append({"boxes": torch.as_tensor(boxes), "scores": torch.ones(len(labels)),
                      "labels": torch.tensor([["tin", "bottle"].index(n) + 1 for n in labels])})
    assert coco_metrics(preds, targets, ["tin", "bottle"])["map50"] == pytest.approx(1.0)
