"""Tiny labelled sets in every layout the readers take, written the way their tools write them.

``items`` is a list of ``(image HxWx3 uint8, boxes xyxy in pixels, labels)``; each writer puts
them on disk in one layout and returns the folder to hand to the readers.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

Item = tuple[np.ndarray, np.ndarray, list[str]]


def squares(n: int = 4, size: tuple[int, int] = (48, 64), seed: int = 0, names: Sequence[str] = ("tin", "bottle")
            ) -> list[Item]:
    """``n`` images (h, w = ``size``) with one or two bright rectangles on a dark noisy ground."""
    rng = np.random.default_rng(seed)
    h, w = size
    items = []
    for i in range(n):
        img = rng.integers(0, 60, (h, w, 3), dtype=np.uint8)
        boxes, labels = [], []
        for k in range(1 + i % 2):
            bw, bh = int(rng.integers(w // 6, w // 3)), int(rng.integers(h // 6, h // 3))
            x0, y0 = int(rng.integers(0, w - bw)), int(rng.integers(0, h - bh))
            img[y0:y0 + bh, x0:x0 + bw] = (220, 200, 40) if k == 0 else (40, 200, 220)
            boxes.append([x0, y0, x0 + bw, y0 + bh])
            labels.append(names[(i + k) % len(names)])
        items.append((img, np.array(boxes, np.float32), labels))
    return items


def _save(path: Path, img: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)
    return path


def voc_xml(filename: str, img: np.ndarray, boxes: np.ndarray, labels: list[str], *, path: str = "",
            difficult: Sequence[bool] = ()) -> str:
    h, w = img.shape[:2]
    objects = "".join(
        f"<object><name>{name}</name><pose>Unspecified</pose><truncated>0</truncated>"
        f"<difficult>{int(difficult[i]) if i < len(difficult) else 0}</difficult><bndbox>"
        f"<xmin>{int(b[0]) + 1}</xmin><ymin>{int(b[1]) + 1}</ymin><xmax>{int(b[2])}</xmax><ymax>{int(b[3])}</ymax>"
        "</bndbox></object>" for i, (b, name) in enumerate(zip(boxes, labels)))
    return (f"<annotation><folder>x</folder><filename>{filename}</filename><path>{path}</path>"
            f"<size><width>{w}</width><height>{h}</height><depth>3</depth></size>{objects}</annotation>")


def write_voc(root: Path, items: list[Item], *, split: str = "test") -> Path:
    """The devkit layout: Annotations/, JPEGImages/, ImageSets/Main/<split>.txt."""
    stems = []
    for i, (img, boxes, labels) in enumerate(items):
        stem = f"img{i:03d}"
        _save(root / "JPEGImages" / f"{stem}.jpg", img)
        (root / "Annotations").mkdir(parents=True, exist_ok=True)
        (root / "Annotations" / f"{stem}.xml").write_text(voc_xml(f"{stem}.jpg", img, boxes, labels))
        stems.append(stem)
    (root / "ImageSets" / "Main").mkdir(parents=True, exist_ok=True)
    (root / "ImageSets" / "Main" / f"{split}.txt").write_text("\n".join(stems) + "\n")
    return root


def write_labelimg(root: Path, items: list[Item], *, folder: str = "") -> Path:
    """labelImg's own output: each image and its XML side by side, ``<path>`` a Windows path."""
    base = root / folder if folder else root
    for i, (img, boxes, labels) in enumerate(items):
        name = f"IMG_{i:04d}.JPG"
        _save(base / name, img)
        (base / f"IMG_{i:04d}.xml").write_text(voc_xml(name, img, boxes, labels, path=f"C:\\labels\\{folder}\\{name}"))
    return root


def _yolo_lines(boxes: np.ndarray, labels: list[str], names: list[str], w: int, h: int) -> str:
    return "".join(f"{names.index(n)} {(b[0] + b[2]) / 2 / w:.6f} {(b[1] + b[3]) / 2 / h:.6f} "
                   f"{(b[2] - b[0]) / w:.6f} {(b[3] - b[1]) / h:.6f}\n" for b, n in zip(boxes, labels))


def write_yolo(root: Path, items: list[Item], *, names: Sequence[str] = ("tin", "bottle"), val: int = 1) -> Path:
    """Ultralytics' layout: images/{train,val}, labels/{train,val}, a data.yaml with names as a dict."""
    names = list(names)
    for i, (img, boxes, labels) in enumerate(items):
        split = "val" if i < val else "train"
        h, w = img.shape[:2]
        _save(root / "images" / split / f"{i:03d}.jpg", img)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split / f"{i:03d}.txt").write_text(_yolo_lines(boxes, labels, names, w, h))
    yaml_names = "\n".join(f"  {k}: {n}" for k, n in enumerate(names))
    splits = "train: images/train\n" + ("val: images/val\n" if val else "")
    (root / "my_dataset.yaml").write_text(f"path: /home/someone/datasets/mine\n{splits}names:\n{yaml_names}\n")
    return root


def write_coco(root: Path, items: list[Item]) -> Path:
    names = sorted({n for _, _, labels in items for n in labels})
    images, anns = [], []
    for i, (img, boxes, labels) in enumerate(items):
        h, w = img.shape[:2]
        _save(root / "images" / f"{i:03d}.png", img)
        images.append({"id": i + 1, "file_name": f"{i:03d}.png", "width": w, "height": h})
        for b, n in zip(boxes, labels):
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": names.index(n) + 1,
                         "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])],
                         "area": float((b[2] - b[0]) * (b[3] - b[1])), "iscrowd": 0})
    coco = {"images": images, "annotations": anns,
            "categories": [{"id": k + 1, "name": n} for k, n in enumerate(names)]}
    root.mkdir(parents=True, exist_ok=True)
    (root / "annotations.json").write_text(json.dumps(coco))
    return root


def write_bop(root: Path, items: list[Item], *, ids: dict[str, int] | None = None, split: str = "test",
              scene: int = 2, visib: Sequence[Sequence[float]] | None = None) -> Path:
    """A BOP dataset root: <split>/<scene>/{rgb/, scene_gt.json, scene_gt_info.json, scene_camera.json}."""
    ids = ids or {n: k + 1 for k, n in enumerate(sorted({n for _, _, labels in items for n in labels}))}
    folder = root / split / f"{scene:06d}"
    gt, info, cams = {}, {}, {}
    for i, (img, boxes, labels) in enumerate(items):
        im_id = 3 * i + 1
        _save(folder / "rgb" / f"{im_id:06d}.png", img)
        gt[str(im_id)] = [{"cam_R_m2c": [1, 0, 0, 0, 1, 0, 0, 0, 1], "cam_t_m2c": [0, 0, 500], "obj_id": ids[n]}
                          for n in labels]
        fr = list(visib[i]) if visib is not None else [1.0] * len(labels)
        info[str(im_id)] = [{"bbox_obj": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])],
                             "bbox_visib": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]
                             if f > 0 else [-1, -1, -1, -1], "px_count_visib": 100, "visib_fract": f}
                            for b, f in zip(boxes, fr)]
        cams[str(im_id)] = {"cam_K": [500.0, 0, 32, 0, 500.0, 24, 0, 0, 1], "depth_scale": 1.0}
    for name, data in (("scene_gt", gt), ("scene_gt_info", info), ("scene_camera", cams)):
        (folder / f"{name}.json").write_text(json.dumps(data))
    (root / "models").mkdir(parents=True, exist_ok=True)
    (root / "models" / "models_info.json").write_text(json.dumps({str(v): {"diameter": 10.0} for v in ids.values()}))
    return root


def bomb_png(path: Path, width: int = 15000, height: int = 15000) -> Path:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb)."""
    import io
    import struct
    import zlib

    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    ihdr = bytearray(data[12:29])  # b"IHDR" + 13 bytes of header fields
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)) & 0xFFFFFFFF)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(data))
    return path
