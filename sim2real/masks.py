"""Instance-id maps to COCO annotations (boxes, areas, RLE) and back."""
from __future__ import annotations

from typing import Mapping

import numpy as np
from pycocotools import mask as mask_utils


def encode_rle(binary: np.ndarray) -> dict:
    """COCO RLE of an HxW boolean mask, with ``counts`` as a str (JSON-ready)."""
    rle = mask_utils.encode(np.asfortranarray(binary.astype(np.uint8)))
    rle["counts"] = rle["counts"].decode("ascii")
    return rle


def decode_rle(rle: Mapping) -> np.ndarray:
    """HxW bool mask from a COCO RLE (compressed counts as str or bytes, or uncompressed)."""
    rle = dict(rle)
    if isinstance(rle.get("counts"), list):
        rle = mask_utils.frPyObjects(rle, *rle["size"])
    elif isinstance(rle.get("counts"), str):
        rle["counts"] = rle["counts"].encode("ascii")
    return mask_utils.decode(rle).astype(bool)


def bbox_of(binary: np.ndarray) -> list[float] | None:
    """Tight COCO box [x, y, w, h] in pixel-extent convention, or None for an empty mask."""
    ys = np.flatnonzero(binary.any(axis=1))
    if ys.size == 0:
        return None
    xs = np.flatnonzero(binary.any(axis=0))
    x0, x1, y0, y1 = int(xs[0]), int(xs[-1]), int(ys[0]), int(ys[-1])
    return [float(x0), float(y0), float(x1 - x0 + 1), float(y1 - y0 + 1)]


def annotations_from_ids(
    ids: np.ndarray, category_of: Mapping[int, int], *, min_area: int = 1
) -> list[dict]:
    """One COCO annotation per instance id present in ``ids`` (0 is background).

    ``category_of`` maps instance id -> category id; ids not in it (distractors) get no
    annotation. Instances smaller than ``min_area`` pixels are left out.
    """
    anns = []
    present = np.unique(ids)
    for inst in present.tolist():
        if inst == 0 or inst not in category_of:
            continue
        binary = ids == inst
        area = int(binary.sum())
        if area < min_area:
            continue
        anns.append(
            {
                "category_id": int(category_of[inst]),
                "bbox": bbox_of(binary),
                "area": float(area),
                "iscrowd": 0,
                "segmentation": encode_rle(binary),
                "instance_id": int(inst),
            }
        )
    return anns


def xywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    out = boxes.copy()
    out[:, 2] = boxes[:, 0] + boxes[:, 2]
    out[:, 3] = boxes[:, 1] + boxes[:, 3]
    return out
