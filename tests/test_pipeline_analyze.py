"""``sim2real-analyze``: label statistics side by side, coverage of the photos by the renders, and
the verdict, on tiny sets whose differences are known."""
import json

import numpy as np
import pytest

from pipeline.analyze import analyze
from sim2real.images import write_png
from tests.realsets import write_coco


def boxes_set(root, *, side: int, n: int = 16, size: int = 64, seed: int = 0, label: str = "tin"):
    """``n`` COCO images, each one ``side``-pixel square (centres drawn by ``seed``, so two sets
    with one seed differ only in box size) on a flat ground of a random colour."""
    rng = np.random.default_rng(seed)
    items = []
    for _ in range(n):
        cx, cy = (int(v) for v in rng.integers(size // 2 - 8, size // 2 + 8, size=2))
        img = np.full((size, size, 3), rng.integers(40, 200, size=3), np.uint8)
        x0, y0 = cx - side // 2, cy - side // 2
        img[y0:y0 + side, x0:x0 + side] = rng.integers(0, 256, size=3)
        items.append((img, np.array([[x0, y0, x0 + side, y0 + side]], np.float32), [label]))
    return write_coco(root, items)


def test_sets_differing_in_box_size_name_size_first(tmp_path):
    sim = boxes_set(tmp_path / "sim", side=8)
    real = boxes_set(tmp_path / "real", side=30)
    res = analyze(sim, real, tmp_path / "out", max_images=50)
    d = res["labels"]["distances"]
    assert d["size"] == 1.0  # every render box is smaller than every photo box
    assert all(d[k] < 0.1 for k in ("aspect", "count", "cx", "cy", "classes", "truncated"))
    assert res["verdict"].startswith("Box size differs most (KS 1.00): the renders' median box is 0.12 of the "
                                     "frame side, the photos' 0.47")
    for name in ("analysis.json", "verdict.txt", "label_stats.png", "centres.png", "coverage_worst.png"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    saved = json.loads((tmp_path / "out" / "analysis.json").read_text())
    assert saved["labels"]["real"]["median"]["size"] == pytest.approx(30 / 64, abs=1e-3)
    assert saved["verdict"] == (tmp_path / "out" / "verdict.txt").read_text().strip()
    assert set(saved["camera"]["median"]) == {"sim", "real"} and len(saved["camera"]["names"]) == 12


def test_a_set_against_itself_agrees_and_is_covered(tmp_path):
    data = boxes_set(tmp_path / "set", side=12)
    res = analyze(data, data, tmp_path / "out", max_images=50)
    assert all(v == 0.0 for v in res["labels"]["distances"].values())
    assert "Label statistics agree (all distances < 0.1)" in res["verdict"]
    assert res["coverage"]["value"] == 1.0  # every photo is its own nearest render
    assert "Coverage 1.00: nearly every photo has a render near it." in res["verdict"]


def test_small_samples_of_one_population_agree_within_noise(tmp_path):
    """Box centres drawn twice from one distribution differ by chance (KS up to about 0.4 at 16
    boxes each): the verdict must not call that a difference."""
    res = analyze(boxes_set(tmp_path / "a", side=12, seed=1), boxes_set(tmp_path / "b", side=12, seed=2),
                  tmp_path / "out")
    labels = res["labels"]
    assert max(labels["distances"][k] for k in ("cx", "cy")) >= 0.1 and labels["p_values"]["cx"] > 0.05
    assert res["verdict"].startswith("Label statistics agree within sampling noise")


def test_photos_unlike_any_render_rank_worst(tmp_path):
    """Photos of pure noise among photos of the renders' kind: no render near them. There are more
    of them than k, so they are each other's neighbours (a lone odd photo has a wide k-NN ball and
    counts as covered: docs/analyze.md)."""
    from sim2real.synthetic import make_image_folder, make_shapes_dataset

    sim = make_shapes_dataset(tmp_path / "sim", num_images=30, size=64, seed=0)
    real = make_image_folder(tmp_path / "real", num_images=20, size=64, seed=5, style="sim")
    rng = np.random.default_rng(0)
    for j in range(6):
        write_png(real / f"noise_{j}.png", rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    res = analyze(sim, real, tmp_path / "out", max_images=50, worst=6)
    worst = res["coverage"]["worst"]
    assert {w["image"].rsplit("/", 1)[-1] for w in worst} == {f"noise_{j}.png" for j in range(6)}
    assert all(w["ratio"] > 1 for w in worst)
    assert res["coverage"]["value"] == pytest.approx(20 / 26, abs=0.08)  # the ordinary photos are covered
    assert "see coverage_worst.png" in res["verdict"]


def test_unlabelled_photos_skip_the_label_part(tmp_path):
    from sim2real.synthetic import make_image_folder, make_shapes_dataset

    sim = make_shapes_dataset(tmp_path / "sim", num_images=12, size=48, seed=0)
    real = make_image_folder(tmp_path / "photos", num_images=8, size=48, seed=1)
    (real / "broken.png").write_bytes(b"not a png")
    with pytest.warns(UserWarning, match="broken.png"):
        res = analyze(sim, real, tmp_path / "out")
    assert res["labels"] is None and not (tmp_path / "out" / "label_stats.png").exists()
    assert res["verdict"].startswith("Label statistics skipped: the photos have no labels")
    assert res["real"]["skipped"] == 1 and res["real"]["read"] == 8
    assert 0.0 <= res["coverage"]["value"] <= 1.0 and res["camera"]["stats_c2st"] > 0.5


def test_a_single_photo_is_described_not_measured(tmp_path):
    """Coverage needs a second photo for a radius, the camera test one image per fold."""
    sim = boxes_set(tmp_path / "sim", side=8, n=6)
    real = boxes_set(tmp_path / "real", side=8, n=1, seed=3)
    res = analyze(sim, real, tmp_path / "out")
    assert res["coverage"]["value"] is None and res["camera"]["stats_c2st"] is None
    assert res["verdict"].endswith("Coverage not measured: it needs at least two readable photos.")
    assert not (tmp_path / "out" / "coverage_worst.png").exists()
    json.loads((tmp_path / "out" / "analysis.json").read_text(), parse_constant=pytest.fail)  # no NaN


def test_cli_writes_its_files_and_names_a_bad_source(tmp_path, cli):
    sim = boxes_set(tmp_path / "sim", side=8, n=8)
    real = boxes_set(tmp_path / "real", side=20, n=8)
    out = tmp_path / "out"
    res = cli("sim2real-analyze", f"sim={sim}", f"real={real}", f"out_dir={out}", timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "Box size differs most" in res.stdout and f"label_stats: {out / 'label_stats.png'}" in res.stdout
    assert json.loads((out / "analysis.json").read_text())["coverage"]["k"] == 5
    bad = cli("sim2real-analyze", f"sim={sim}", f"real={tmp_path / 'nowhere'}", f"out_dir={tmp_path / 'o2'}")
    assert bad.returncode == 2
    errors = [line for line in bad.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: real={tmp_path / 'nowhere'}: no such file or folder"]
    assert not (tmp_path / "o2").exists()
    unset = cli("sim2real-analyze", f"sim={sim}")
    assert unset.returncode == 2 and "real" in unset.stderr.splitlines()[-1]
