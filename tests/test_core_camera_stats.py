"""Camera statistics: each statistic reads what its name says, and the two-sample test on them
tells a noisier camera apart while calling two draws of one camera alike."""
from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from sim2real.camera_stats import NAMES, image_stats, median_rows, stats_c2st


def _images(n: int, seed: int, noise: float = 0.0, size: int = 48) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        img = np.ones((size, size, 3)) * rng.uniform(0.3, 0.6, 3)
        a, b = rng.integers(4, size // 2, 2)
        img[a:a + 12, b:b + 12] = rng.uniform(0.1, 0.9, 3)
        img = img + rng.normal(0, noise, img.shape)
        out.append((np.clip(img, 0, 1) * 255).round().astype(np.uint8))
    return out


def test_each_statistic_reads_what_its_name_says():
    flat = np.full((32, 32, 3), 128, np.uint8)
    s = dict(zip(NAMES, image_stats(flat)))
    assert s["saturation"] == 0 and s["noise"] == 0 and s["std_g"] == pytest.approx(0, abs=1e-5)
    assert s["p50"] == pytest.approx(128 / 255, abs=1e-3) and s["vignetting"] == pytest.approx(1.0)
    red = flat.copy()
    red[..., 0] = 255
    assert dict(zip(NAMES, image_stats(red)))["saturation"] > 0.4
    noisy = dict(zip(NAMES, image_stats(_images(1, 0, noise=0.05)[0])))
    assert noisy["noise"] > 10 * dict(zip(NAMES, image_stats(_images(1, 0)[0])))["noise"]
    dark_border = flat.copy()
    dark_border[:4], dark_border[-4:], dark_border[:, :4], dark_border[:, -4:] = 60, 60, 60, 60
    assert dict(zip(NAMES, image_stats(dark_border)))["vignetting"] > 1.5


def test_stats_c2st_tells_cameras_apart_not_draws_of_one_camera(tmp_path):
    clean, noisy = _images(40, 1), _images(40, 2, noise=0.03)
    assert stats_c2st(clean, noisy) > 0.9
    assert stats_c2st(clean, _images(40, 3)) < 0.7
    assert math.isnan(stats_c2st(clean[:3], noisy))  # fewer images than folds
    paths = []  # image paths work too, and an unreadable file is skipped with a warning
    for i, img in enumerate(noisy):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(img).save(paths[-1])
    (tmp_path / "bad.png").write_bytes(b"no")
    with pytest.warns(UserWarning, match="bad.png"):
        assert stats_c2st(clean, [*paths, tmp_path / "bad.png"]) > 0.9


def test_median_rows_one_row_per_statistic():
    header, rows = median_rows({"sim": _images(5, 1), "real": _images(5, 2, noise=0.05)})
    assert header == ["statistic", "sim", "real"] and [r[0] for r in rows] == NAMES
    noise = rows[NAMES.index("noise")]
    assert noise[2] > noise[1]
