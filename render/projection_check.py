"""How far projected boxes (render/projection.py) lie from a rendered set's labels.

Each image of a rendered set is sampled again from its recorded config (same seed, same
catalog, so the same scene), its targets are projected, and the boxes are matched to the
rendered ones by instance id. Two kinds of error: per object, the IoU of the projected box
with the rendered one on the objects nothing hides (occlusion and truncation under 5 %),
which checks the geometry; and per set, the distance between the projected and the rendered
label statistics (sim2real.label_stats), which is what the scene fit feels: amodal boxes
are larger than visible ones wherever objects hide each other.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from render.catalog import sampling_catalog
from render.frame import frame_size
from render.projection import hull_points, instance_boxes, large_enough
from render.renderer import to_config
from render.sampling import sample_image
from sim2real import label_stats
from sim2real.dataset import DatasetReader
from sim2real.errors import DatasetError


def iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def check_projection(dataset: Path | str, *, max_images: int = 60, seed: int = 0) -> dict:
    """Projected against rendered boxes on up to ``max_images`` images of a rendered set."""
    reader = DatasetReader(Path(dataset))
    config = json.loads((Path(dataset) / "dataset.json").read_text()).get("config")
    if not config or "scene" not in config:
        raise DatasetError(f"{dataset}: not a rendered set (its dataset.json records no render config)")
    cfg = to_config(config)
    kind, cat = sampling_catalog(cfg)
    hulls = {c: hull_points(m.verts) for c, m in cat.targets.items()}
    frame = frame_size(cfg.resolution, cfg.aspect)
    rng = np.random.default_rng(seed)
    picks = sorted(rng.choice(len(reader), min(max_images, len(reader)), replace=False))
    ious, rendered_rows, projected_rows, mismatched = [], [], [], 0
    for i in picks:
        rec = reader.records[int(i)]
        meta, geometry = sample_image(cfg, int(rec.meta["index"]), kind, cat)
        if _poses(meta) != _poses(rec.meta):
            mismatched += 1  # the catalog differs from the render's (another version): not comparable
            continue
        instances = instance_boxes(meta, geometry, hulls, frame)
        projected_rows.append((*frame, *large_enough(instances, cfg.min_visible_px)))
        rendered_rows.append((*frame, rec.boxes, rec.labels))
        by_id = {iid: rec.boxes[j] for j, iid in enumerate(rec.instance_ids)}
        visible = {o["instance_id"]: o for o in rec.meta["objects"]}
        for iid, box in by_id.items():
            o = visible.get(iid, {})
            if o.get("occlusion", 1.0) < 0.05 and o.get("truncation", 1.0) < 0.05 and iid in instances:
                ious.append(iou(instances[iid][0], box))
    if not rendered_rows:
        raise DatasetError(f"{dataset}: no image could be sampled again as it was rendered "
                           f"({mismatched} differ: rendered by another version?)")
    rendered, projected = label_stats.from_boxes(rendered_rows), label_stats.from_boxes(projected_rows)
    return {
        "dataset": str(dataset), "images": len(rendered_rows), "mismatched": mismatched,
        "unhidden_objects": len(ious),
        "iou_unhidden": {"median": round(float(np.median(ious)), 4) if ious else None,
                         "p10": round(float(np.percentile(ious, 10)), 4) if ious else None},
        "boxes": {"rendered": rendered.num_boxes, "projected": projected.num_boxes},
        "median_size": {"rendered": round(float(np.median(rendered.size)), 4),
                        "projected": round(float(np.median(projected.size)), 4)},
        "distance": label_stats.distances(rendered, projected),
    }


def _poses(meta: dict) -> list:
    return [(o["class"], o["location"], o["rotation_euler"]) for o in meta["objects"]]

