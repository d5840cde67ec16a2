#!/usr/bin/env python
"""Render the eight LINEMOD (BOP ``lmo``) meshes as user assets with their own colours: one PNG grid.

    python scripts/render_asset_gallery.py --models ../shared/real/lmo/models --out docs/images/lmo_assets.png

The meshes (PLY, vertex colours, millimetres) become ``scene.assets`` with ``unit_scale: 0.001``,
``normalize: false`` and ``material: own``, on a plain tabletop; ``render.run.run`` renders them
into a temporary ``out_dir`` and the images are pasted side by side (``--columns`` per row).
LINEMOD meshes: CC BY-SA 4.0, Hinterstoisser et al. / BOP.
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

import numpy as np
from hydra import compose, initialize_config_dir
from PIL import Image

from sim2real.app import CONF_DIR
from pipeline.config import register_configs
from sim2real.errors import ConfigError

LMO_CLASSES = {"obj_000001": "ape", "obj_000005": "can", "obj_000006": "cat", "obj_000008": "driller",
               "obj_000009": "duck", "obj_000010": "eggbox", "obj_000011": "glue", "obj_000012": "holepuncher"}
# A tabletop a bit under a metre from the camera: objects are 0.07-0.26 m big.
TABLETOP = [
    "scene.include_builtin=false", "scene.objects.count=[5,6]", "scene.objects.negative_fraction=0",
    "scene.objects.pose.mode=upright", "scene.objects.placement.area_radius=0.22",
    "scene.objects.placement.min_gap=0.01", "scene.distractors.count=[0,0]", "scene.occluders.prob=0",
    "scene.ground.visible_prob=1", "scene.ground.materials=[plain]", "scene.camera.distance=[0.6,0.8]",
    "scene.camera.elevation_deg=[35,60]", "scene.camera.focal_mm=[35,45]", "scene.camera.roll_deg=[0,0]",
    "scene.camera.look_at_jitter=0.03", "scene.lights.count=[1,4]", "reality.samples=32",
    "reality.view_transform=filmic", "reality.materials.ground_saturation=[0.0,0.3]", "save_depth=false",
    "logger=none",
]


def assets_override(models: Path) -> str:
    """``scene.assets=[...]``, one entry per LINEMOD mesh; a missing file is a one-line error naming it."""
    entries = []
    for stem, name in LMO_CLASSES.items():
        path = models / f"{stem}.ply"
        if not path.is_file():
            raise ConfigError(f"{path}: LINEMOD mesh not found (--models)")
        entries.append(f"{{path: '{path.resolve()}', class_name: {name}, unit_scale: 0.001, normalize: false, "
                       f"material: own}}")
    return f"scene.assets=[{', '.join(entries)}]"


def render(models: Path, out_dir: Path, images: int, resolution: int, workers: int, seed: int) -> list[Path]:
    from render.run import run

    register_configs()
    with initialize_config_dir(CONF_DIR, version_base="1.3"):
        cfg = compose("render", overrides=[*TABLETOP, f"num_images={images}", f"resolution={resolution}",
                                           f"workers={workers}", f"seed={seed}", f"out_dir={out_dir}",
                                           assets_override(models)])
    summary = run(cfg)
    print(f"boxes per class: {summary['classes']}")
    return sorted((out_dir / "images").glob("*.png"))


def grid(paths: list[Path], columns: int) -> Image.Image:
    """The images side by side, ``columns`` per row."""
    tiles = [np.asarray(Image.open(p).convert("RGB")) for p in paths]
    h, w, _ = tiles[0].shape
    rows = -(-len(tiles) // columns)
    canvas = np.full((rows * h, min(columns, len(tiles)) * w, 3), 255, np.uint8)
    for k, tile in enumerate(tiles):
        r, c = divmod(k, columns)
        canvas[r * h:(r + 1) * h, c * w:(c + 1) * w] = tile
    return Image.fromarray(canvas)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", type=Path, default=Path("../shared/real/lmo/models"),
                   help="folder holding obj_0000NN.ply (LINEMOD / BOP lmo models)")
    p.add_argument("--out", type=Path, default=Path("docs/images/lmo_assets.png"))
    p.add_argument("--images", type=int, default=4)
    p.add_argument("--columns", type=int, default=4)
    p.add_argument("--resolution", type=int, default=256)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        with tempfile.TemporaryDirectory(prefix="lmo_gallery_") as tmp:
            paths = render(a.models, Path(tmp) / "ds", a.images, a.resolution, a.workers, a.seed)
            a.out.parent.mkdir(parents=True, exist_ok=True)
            grid(paths, a.columns).save(a.out)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
