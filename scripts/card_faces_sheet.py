#!/usr/bin/env python
"""A picture of ``scene=cards``: the drawn faces (six ranks in two suits, two backs) and renders.

    python scripts/card_faces_sheet.py --out docs/images/cards_scene.png

The faces come from render/scenes/card_faces.py; the renders from ``render.run.run`` on the
``cards`` scene (composed with Hydra like the tests do) into a temporary ``out_dir``. The
sheet is quantised to 256 colours so it stays small.
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

from hydra import compose, initialize_config_dir
from PIL import Image

from render.scenes.card_faces import RANKS, STYLES, draw_back, draw_face, rounded_mask
from sim2real.app import CONF_DIR
from pipeline.config import register_configs
from sim2real.errors import ConfigError

FELT = (38, 84, 58)
GAP = 8


def face_rows(tile_w: int) -> list[list[Image.Image]]:
    """Six ranks of hearts with a red back, six of spades with a blue back (another deck style)."""
    rows = []
    for suit, deck in (("hearts", "classic_red"), ("spades", "bold")):
        style = STYLES[deck]
        rows.append([draw_face(rank, suit, style) for rank in RANKS] + [draw_back(style)])
    size = (tile_w, round(tile_w * 88 / 63))
    return [[im.resize(size, Image.Resampling.LANCZOS) for im in row] for row in rows]


def render(out_dir: Path, images: int, resolution: int, workers: int, seed: int, reality: str) -> list[Path]:
    from render.run import run

    register_configs()
    with initialize_config_dir(CONF_DIR, version_base="1.3"):
        cfg = compose("render", overrides=["scene=cards", f"reality={reality}", f"num_images={images}",
                                           f"resolution={resolution}", f"workers={workers}", f"seed={seed}",
                                           f"out_dir={out_dir}", "scene.objects.negative_fraction=0",
                                           "save_depth=false", "logger=none"])
    summary = run(cfg)
    print(f"boxes per class: {summary['classes']}; {summary['seconds'] / max(images, 1):.2f} s per image")
    return sorted((out_dir / "images").glob("*.png"))


def sheet(faces: list[list[Image.Image]], renders: list[Path], columns: int) -> Image.Image:
    tw, th = faces[0][0].size
    width = len(faces[0]) * (tw + GAP) + GAP
    side = (width - GAP) // columns - GAP
    rows = -(-len(renders) // columns)
    canvas = Image.new("RGB", (width, GAP + len(faces) * (th + GAP) + rows * (side + GAP)), FELT)
    mask = rounded_mask((tw, th))
    for r, row in enumerate(faces):
        for c, im in enumerate(row):
            canvas.paste(im, (GAP + c * (tw + GAP), GAP + r * (th + GAP)), mask)
    top = GAP + len(faces) * (th + GAP)
    for k, path in enumerate(renders):
        r, c = divmod(k, columns)
        tile = Image.open(path).convert("RGB").resize((side, side), Image.Resampling.LANCZOS)
        canvas.paste(tile, (GAP + c * (side + GAP), top + r * (side + GAP)))
    return canvas.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("docs/images/cards_scene.png"))
    p.add_argument("--images", type=int, default=8)
    p.add_argument("--columns", type=int, default=4)
    p.add_argument("--resolution", type=int, default=256)
    p.add_argument("--tile", type=int, default=120, help="width of a drawn face on the sheet (px)")
    p.add_argument("--reality", default="sim")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        with tempfile.TemporaryDirectory(prefix="cards_sheet_") as tmp:
            paths = render(Path(tmp) / "ds", a.images, a.resolution, a.workers, a.seed, a.reality)
            a.out.parent.mkdir(parents=True, exist_ok=True)
            sheet(face_rows(a.tile), paths, a.columns).save(a.out, optimize=True)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {a.out} ({a.out.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
