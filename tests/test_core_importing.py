"""Real data of any size becomes render-resolution datasets; boxes follow the documented rule."""
import json

import numpy as np
from PIL import Image

from sim2real.importing import fit_square, import_labelled, import_unlabelled
from sim2real.images import list_images


def test_fit_square_scales_crops_and_clips_boxes():
    img = np.zeros((100, 200, 3), np.uint8)
    img[20:40, 90:110] = 255  # object in the centre
    boxes = np.array([[90, 20, 110, 40], [0, 0, 20, 20], [30, 10, 60, 30]], np.float32)  # last: a third stays inside
    crop, out, keep = fit_square(img, boxes, 50)
    assert crop.shape == (50, 50, 3)
    # scale 0.5 -> 100x50, crop x from 25: the centre box lands at [20, 10, 30, 20]
    np.testing.assert_allclose(out[0], [20, 10, 30, 20])
    assert keep.tolist() == [True, False, False]  # the others leave the crop entirely or mostly
    ys, xs = np.nonzero(crop[..., 0] > 127)
    assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (20, 10, 30, 20)


def test_import_labelled_coco_at_render_resolution(tmp_path):
    src = tmp_path / "coco"
    src.mkdir()
    Image.fromarray(np.full((60, 80, 3), 90, np.uint8)).save(src / "a.jpg")
    (src / "broken.jpg").write_bytes(b"garbage")
    coco = {"images": [{"id": 1, "file_name": "a.jpg", "width": 80, "height": 60},
                       {"id": 2, "file_name": "broken.jpg", "width": 80, "height": 60}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [30, 20, 20, 20], "area": 400}],
            "categories": [{"id": 1, "name": "tin"}]}
    (src / "annotations.json").write_text(json.dumps(coco))
    ds = import_labelled(src, tmp_path / "out", resolution=30, classes=["can"], class_map={"tin": "can"})
    assert len(ds) == 1 and ds.manifest.kind == "real" and ds.manifest.status == "complete"
    assert ds.image(0).shape == (30, 30, 3)
    np.testing.assert_allclose(ds.records[0].boxes[0], [10, 10, 20, 20])
    assert ds.records[0].labels == ["can"]
    assert ds.manifest.provenance["skipped_images"] == 1


def test_import_unlabelled_resizes_and_is_reused(tmp_path):
    src = tmp_path / "photos"
    src.mkdir()
    for i, size in enumerate([(50, 70), (120, 40)]):
        Image.new("L", size, 200).save(src / f"{i}.png")
    out = import_unlabelled(src, tmp_path / "real", resolution=32)
    files = list_images(out)
    assert len(files) == 2 and all(Image.open(f).size == (32, 32) and Image.open(f).mode == "RGB" for f in files)
    mtime = files[0].stat().st_mtime_ns
    import_unlabelled(src, tmp_path / "real", resolution=32)
    assert files[0].stat().st_mtime_ns == mtime
