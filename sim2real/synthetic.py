"""Tiny procedural datasets without Blender: for tests, examples and smoke checks of the
refiner and detector stages on machines where rendering is not wanted.

``style="sim"`` draws flat shapes on flat backgrounds; ``style="real"`` draws the same kind of
scene with a recipe the refiner must learn: textured backgrounds, shading, colour cast, blur,
vignetting and sensor noise. Labels (boxes, masks, instance ids) are exact in both.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from scipy.ndimage import gaussian_filter

from sim2real.dataset import DatasetWriter
from sim2real.images import write_png
from sim2real.masks import annotations_from_ids

SHAPES = ("square", "disc")


def _shape_mask(kind: str, size: int, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    r = int(rng.integers(size // 10, size // 4))
    cx, cy = (int(v) for v in rng.integers(r, size - r, size=2))
    yy, xx = np.mgrid[:size, :size]
    if kind == "square":
        m = (abs(xx - cx) <= r) & (abs(yy - cy) <= r)
    else:
        m = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
    return m, {"class": kind, "center": [cx, cy], "radius": r}


def render_shapes(size: int, rng: np.random.Generator, *, style: str, classes: Sequence[str],
                  max_objects: int) -> tuple[np.ndarray, np.ndarray, dict[int, str], dict]:
    """One image: RGB uint8, uint16 id map, {instance id: class}, meta."""
    if style == "sim":
        img = np.ones((size, size, 3)) * rng.uniform(0.3, 0.7, size=3)
    else:
        base = rng.uniform(0.2, 0.6, size=3)
        texture = gaussian_filter(rng.normal(0, 1, (size, size)), sigma=size / 16)
        img = base + 0.15 * texture[..., None] / (abs(texture).max() + 1e-6)
        img = img + np.linspace(-0.1, 0.1, size)[:, None, None]
    ids = np.zeros((size, size), np.uint16)
    owner: dict[int, str] = {}
    n = int(rng.integers(1, max_objects + 1))
    objects = []
    for inst in range(1, n + 1):
        kind = classes[int(rng.integers(len(classes)))]
        m, obj = _shape_mask(kind if kind in SHAPES else SHAPES[inst % 2], size, rng)
        colour = rng.uniform(0.1, 0.9, size=3)
        if style == "real":
            shade = np.linspace(1.15, 0.75, size)[None, :, None]
            img = np.where(m[..., None], colour * shade, img)
        else:
            img = np.where(m[..., None], colour, img)
        ids[m] = inst
        owner[inst] = kind
        objects.append({**obj, "class": kind, "instance_id": inst})
    if style == "real":
        img = gaussian_filter(img, sigma=(0.8, 0.8, 0))
        img = img * np.array([1.08, 1.0, 0.85])  # warm colour cast
        yy, xx = np.mgrid[:size, :size] / (size - 1) - 0.5
        img = img * (1 - 0.6 * (xx**2 + yy**2))[..., None]  # vignetting
        img = img + rng.normal(0, 0.03, img.shape)
    rgb = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
    meta = {"num_objects": n, "style": style, "objects": objects,
            "background": {"kind": "flat" if style == "sim" else "textured"}}
    return rgb, ids, owner, meta


def make_shapes_dataset(root: Path | str, *, num_images: int = 8, size: int = 64, seed: int = 0,
                        style: str = "sim", classes: Sequence[str] = SHAPES, max_objects: int = 3) -> Path:
    """Write a complete dataset in the sim2real contract (kind ``sim`` or ``real``)."""
    root = Path(root)
    writer = DatasetWriter(root, name=root.name, kind="sim" if style == "sim" else "real",
                           classes=classes, num_images=num_images, seed=seed,
                           config={"synthetic": style, "size": size, "seed": seed})
    cat = writer.category_ids
    for i in range(num_images):
        if writer.is_done(i):
            continue
        rng = np.random.default_rng([seed, i])
        rgb, ids, owner, meta = render_shapes(size, rng, style=style, classes=classes, max_objects=max_objects)
        anns = annotations_from_ids(ids, {k: cat[v] for k, v in owner.items()})
        writer.add(i, image=rgb, mask=ids, annotations=anns, meta={**meta, "seed": seed, "index": i})
    writer.finalize()
    return root


def make_image_folder(root: Path | str, *, num_images: int = 8, size: int = 64, seed: int = 1,
                      style: str = "real") -> Path:
    """A plain folder of unlabelled images (what users give the refiner as real photos)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(num_images):
        rng = np.random.default_rng([seed, i])
        rgb, *_ = render_shapes(size, rng, style=style, classes=SHAPES, max_objects=3)
        write_png(root / f"photo_{i:04d}.png", rgb)
    return root
