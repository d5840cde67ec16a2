"""Real data of any size becomes working-resolution datasets; boxes follow the documented rule."""
import json

import numpy as np
import pytest
from PIL import Image

from sim2real.errors import ConfigError
from sim2real.importing import fit_image, fit_square, import_labelled, import_unlabelled
from sim2real.images import list_images
from tests.realsets import squares, write_labelimg


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


@pytest.mark.parametrize("rule, shape, offset", [("keep", (25, 50, 3), (0, 0)), ("letterbox", (50, 50, 3), (0, 12))])
def test_keep_and_letterbox_lose_no_box(rule, shape, offset):
    img = np.zeros((100, 200, 3), np.uint8)
    img[0:20, 0:20] = 255  # in a corner: the crop rule would cut it
    boxes = np.array([[0, 0, 20, 20], [150, 80, 200, 100]], np.float32)
    out_img, out, keep = fit_image(img, boxes, 50, rule=rule)
    assert out_img.shape == shape and keep.all()
    dx, dy = offset
    np.testing.assert_allclose(out, [[dx, dy, dx + 5, dy + 5], [dx + 37.5, dy + 20, dx + 50, dy + 25]])
    ys, xs = np.nonzero(out_img[..., 0] == 255)
    assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (dx, dy, dx + 5, dy + 5)
    with pytest.raises(ConfigError, match="data.fit"):
        fit_image(img, boxes, 50, rule="squash")


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
    ds = import_labelled(src, tmp_path / "out", resolution=30, fit="crop", classes=["can"], class_map={"tin": "can"})
    assert len(ds) == 1 and ds.manifest.kind == "real" and ds.manifest.status == "complete"
    assert ds.image(0).shape == (30, 30, 3)
    np.testing.assert_allclose(ds.records[0].boxes[0], [10, 10, 20, 20])
    assert ds.records[0].labels == ["can"]
    assert ds.manifest.provenance["skipped_images"] == 1


def test_import_keeps_the_whole_photo_its_labels_and_counts_every_loss(tmp_path):
    portrait = squares(3, size=(64, 40), names=("tin",))
    portrait[0][1][0] = [-3, 2, 12, 70]  # reaches outside the image: clipped, counted
    src = write_labelimg(tmp_path / "flat", portrait)
    (src / "IMG_0002.JPG").write_bytes(b"not a jpeg")  # unreadable: skipped, counted
    ds = import_labelled(src, tmp_path / "out", resolution=32)
    assert len(ds) == 2 and ds.classes == ["tin"]  # own label names kept without a class list
    assert ds.image(0).shape == (32, 20, 3)  # longer side 32, aspect kept
    prov = ds.manifest.provenance
    assert prov["skipped_images"] == 1 and prov["dropped_by_crop"] == 0 and prov["fit"] == "keep"
    assert prov["label_issues"]["clipped"]["count"] == 1
    assert prov["boxes_written"] == sum(len(r.boxes) for r in ds.records) == 3
    assert ds.records[0].meta["source_file"] == "IMG_0000.JPG" and ds.records[0].meta["source_size"] == [40, 64]


def test_import_unlabelled_resizes_and_is_reused(tmp_path):
    src = tmp_path / "photos"
    src.mkdir()
    for i, size in enumerate([(50, 70), (120, 40)]):
        Image.new("L", size, 200).save(src / f"{i}.png")
    out = import_unlabelled(src, tmp_path / "real", resolution=32)
    files = list_images(out)
    assert [Image.open(f).size for f in files] == [(23, 32), (32, 11)]
    assert all(Image.open(f).mode == "RGB" for f in files)
    mtime = files[0].stat().st_mtime_ns
    import_unlabelled(src, tmp_path / "real", resolution=32)
    assert files[0].stat().st_mtime_ns == mtime
    import_unlabelled(src, tmp_path / "real", resolution=32, fit="crop")
    assert [Image.open(f).size for f in list_images(out)] == [(32, 32), (32, 32)]


def test_an_image_over_the_pixel_limit_is_a_counted_skip_not_a_crash(tmp_path):
    from sim2real.images import UnreadableImage, read_rgb
    from tests.realsets import bomb_png

    src = write_labelimg(tmp_path / "flat", squares(3, size=(40, 40), names=("tin",)))
    bomb = bomb_png(src / "IMG_0001.JPG")  # 15000 x 15000 claimed in a few hundred bytes
    assert bomb.stat().st_size < 1000
    with pytest.raises(UnreadableImage, match="IMG_0001.JPG: .*over the pixel limit"):
        read_rgb(bomb)
    bomb_png(tmp_path / "big.png", 10000, 10000)  # over the limit, under PIL's own refusal at twice it
    with pytest.raises(UnreadableImage, match="10000x10000 pixels, over the limit"):
        read_rgb(tmp_path / "big.png")
    ds = import_labelled(src, tmp_path / "out", resolution=32)
    assert len(ds) == 2 and ds.manifest.provenance["skipped_images"] == 1
