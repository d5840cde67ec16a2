"""README's "On your own photos" command, run as written, on tiny generated real sets in each layout."""
import json
import shlex
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import ROOT, run_cli
from tests.realsets import squares, write_bop, write_coco, write_labelimg, write_voc, write_yolo

LAYOUTS = {"voc": write_voc, "labelimg": write_labelimg, "yolo": write_yolo, "coco": write_coco, "bop": write_bop}
TEST_ITEMS, TRAIN_ITEMS = squares(4, seed=1), squares(6, seed=2)
# Run tiny, and one mix (its renders and its real labels both go through data.class_map).
SMALL = ["experiment=smoke", "train.mixes=[sim+real100]"]


def readme_command() -> list[str]:
    """The first bash block under README's "On your own photos", as its words."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("### On your own photos"):]
    start = section.index("```bash\n") + len("```bash\n")
    return shlex.split(section[start:section.index("```", start)].replace("\\\n", " "))


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    root = tmp_path_factory.mktemp("user_data")
    photos = root / "photos"
    photos.mkdir()
    for i, (img, _, _) in enumerate(squares(8, seed=3)):
        Image.fromarray(img).save(photos / f"p{i}.jpg")
    return root, photos


def _command(layout: str, root: Path, photos: Path) -> list[str]:
    paths = {"/path/to/photos": photos}
    for part, items in (("test", TEST_ITEMS), ("train", TRAIN_ITEMS)):
        paths[f"/path/to/labelled_{part}"] = LAYOUTS[layout](root / layout / part, items)
    words = []
    for word in readme_command():
        for placeholder, path in paths.items():
            word = word.replace(placeholder, str(path))
        words.append(word)
    assert words[0] == "sim2real" and all("/path/to" not in w for w in words)
    extra = ["data.names={1: bottle, 2: tin}"] if layout == "bop" else []  # BOP labels are object ids
    return [*words[1:], *extra, *SMALL, f"out_dir={root / 'run'}"]


# The readers of every layout are tested on their own (test_core_readers_layouts.py); end to end the
# default run takes COCO and BOP (its object ids need data.names), the other layouts run with -m slow.
FAST_LAYOUTS = {"coco", "bop"}


@pytest.mark.parametrize("layout", [l if l in FAST_LAYOUTS else pytest.param(l, marks=pytest.mark.slow)
                                    for l in sorted(LAYOUTS)])
def test_readme_own_photos_command_runs_on_each_layout(work, layout):
    root, photos = work
    result = run_cli("sim2real", *_command(layout, root, photos), cwd=root, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((root / "run" / "metrics.json").read_text())
    assert 0.0 <= metrics["detector.sim+real100.map50"] <= 1.0
    test_set = json.loads((root / "run" / "data" / "real_test_imported" / "annotations.json").read_text())
    assert len(test_set["images"]) == len(TEST_ITEMS)
    assert len(test_set["annotations"]) == sum(len(b) for _, b, _ in TEST_ITEMS)  # nothing lost
    assert {c["name"] for c in test_set["categories"]} == {"tin", "bottle"}
    detector = json.loads((root / "run" / "detectors" / "sim_real100" / "metrics.json").read_text())
    assert detector["_run"]["data"]["classes"] == ["can", "bottle"]
    assert not detector["_run"]["data"]["unmapped"]
    shapes = {tuple(Image.open(p).size) for p in (root / "run" / "data" / "real_test_imported" / "images").iterdir()}
    assert shapes == {(64, 48)}  # the whole 64x48 photo at resolution 64: not cropped to a square


def test_an_unmapped_label_fails_before_any_work_listing_both_sides(work, tmp_path):
    root, photos = work
    words = [w for w in _command("coco", root, photos) if not w.startswith("data.class_map")]
    words = [w if not w.startswith("out_dir=") else f"out_dir={tmp_path / 'run'}" for w in words]
    result = run_cli("sim2real", *words, cwd=tmp_path, timeout=120)
    assert result.returncode == 2
    assert "map onto none of the classes ['can', 'bottle']" in result.stderr
    assert "can_330ml" in result.stderr and "data.ignore_labels" in result.stderr
    assert not (tmp_path / "run" / "data").exists()


def test_render_fit_fits_the_sim_part_to_the_training_pool(work, tmp_path):
    """``render.fit=true``: the sim part's scene is fitted to data.real_train's labels (never the
    test split) before it is rendered; the refiner is skipped when no mix needs it."""
    root, photos = work
    words = [w if not w.startswith("out_dir=") else f"out_dir={tmp_path / 'run'}" for w in _command("yolo", root, photos)]
    result = run_cli("sim2real", *words, "render.fit=true", "render.overrides=['fit.trials=6','fit.images=16']",
                     "train.mixes=[sim]", cwd=tmp_path, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    sim = tmp_path / "run" / "data" / "sim"
    fit = json.loads((sim / "fit" / "fit.json").read_text())
    assert Path(fit["real"]) == tmp_path / "run" / "data" / "real_train_imported"
    assert fit["summary"]["real"]["images"] == len(TRAIN_ITEMS) and fit["trials"] == 6
    recorded = json.loads((sim / "dataset.json").read_text())["config"]
    assert recorded["fit"]["enabled"] and recorded["scene"]["objects"]["count"] == fit["values"]["fitted"]["objects.count"]
    assert (sim / "fit" / "scene" / f"{recorded['scene']['name']}_fitted.yaml").is_file()
    assert not (tmp_path / "run" / "refined").exists()  # no mix trains on refined images
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert 0.0 <= metrics["detector.sim.map50"] <= 1.0 and "analysis.coverage" in metrics
