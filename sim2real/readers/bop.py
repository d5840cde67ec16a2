"""BOP datasets (bop.felk.cvut.cz): ``<split>/<scene>/{rgb/, scene_gt.json, scene_gt_info.json}``.

The path may be the dataset root (split folders below it; ``split`` picks one), a split folder
or a single scene folder. Boxes are ``bbox_visib`` (the visible part), as in the BOP 2D
detection task; instances whose ``visib_fract`` is below ``min_visib_fract`` (default 0.1)
are kept as ignore regions, and instances with no visible pixel are dropped (counted).
Object ids get their names from ``names`` (``{obj_id: name}``); unnamed ids are called
``obj_000001`` and so on, like the model files in ``models/``. Each box carries
``visib_fract`` and ``occlusion`` (1 - visib_fract); each image the scene and image ids and
the camera matrix ``cam_K`` from ``scene_camera.json``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from sim2real.errors import DatasetError
from sim2real.masks import xywh_to_xyxy
from sim2real.readers.checks import clean_boxes, image_size
from sim2real.records import LabelIssues, LabelledSet, Record

IMAGE_FOLDERS = ("rgb", "gray")
DEFAULT_MIN_VISIB_FRACT = 0.1


def _scenes_under(path: Path, depth: int) -> list[Path]:
    pattern = "/".join(["*"] * depth + ["scene_gt.json"]) if depth else "scene_gt.json"
    return sorted(p.parent for p in Path(path).glob(pattern))


def is_bop(path: Path) -> bool:
    return any(_scenes_under(path, d) for d in (0, 1, 2))


def _scenes(root: Path, split: str | None) -> list[Path]:
    for depth in (0, 1):
        found = _scenes_under(root, depth)
        if found:
            if split:
                raise DatasetError(f"{root}: a BOP {'scene' if depth == 0 else 'split'} folder has no splits; "
                                   f"point at the dataset root to choose split={split!r}")
            return found
    splits = sorted({p.parent.name for p in _scenes_under(root, 2)})
    if split:
        if split not in splits:
            raise DatasetError(f"{root}: BOP split {split!r} not found (found {splits})")
        return _scenes_under(root / split, 1)
    return _scenes_under(root, 2)


def obj_name(obj_id: int, names: Mapping[Any, str] | None) -> str:
    names = {int(k): str(v) for k, v in dict(names or {}).items()}
    return names.get(int(obj_id), f"obj_{int(obj_id):06d}")


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read BOP JSON ({exc})") from exc


def _image(scene: Path, im_id: int) -> Path | None:
    for folder in IMAGE_FOLDERS:
        for suffix in (".png", ".jpg", ".tif"):
            path = scene / folder / f"{im_id:06d}{suffix}"
            if path.is_file():
                return path
    return None


def _scene_records(scene: Path, names, min_visib: float, issues: LabelIssues, first_id: int) -> list[Record]:
    gt, info_path = _read_json(scene / "scene_gt.json"), scene / "scene_gt_info.json"
    if not info_path.is_file():
        raise DatasetError(f"{scene}: scene_gt_info.json is missing (it holds the visible boxes)")
    info = _read_json(info_path)
    cams = _read_json(scene / "scene_camera.json") if (scene / "scene_camera.json").is_file() else {}
    records = []
    for key in sorted(gt, key=int):
        im_id, insts, infos = int(key), gt[key], info.get(key, [])
        if len(infos) != len(insts):
            raise DatasetError(f"{info_path}: image {key} has {len(infos)} entries but scene_gt.json {len(insts)}")
        path = _image(scene, im_id)
        if path is None:
            issues.add("missing_image", f"{scene}/rgb/{im_id:06d}")
            continue
        size = image_size(path)
        visib = np.array([float(i.get("visib_fract", 1.0)) for i in infos], np.float64)
        raw = xywh_to_xyxy(np.array([i["bbox_visib"] for i in infos], np.float64).reshape(-1, 4))
        seen = (raw[:, 2] > raw[:, 0]) & (raw[:, 3] > raw[:, 1]) & (visib > 0)
        issues.add("invisible", scene / "scene_gt_info.json", int((~seen).sum()))
        boxes, keep = clean_boxes(raw[seen], *(size or (None, None)), issues=issues, file=info_path)
        idx = np.flatnonzero(seen)[keep]
        ignore = visib[idx] < min_visib
        issues.add("ignored", info_path, int(ignore.sum()))
        cam = cams.get(key, {})
        meta = {"bop": {"scene_id": int(scene.name) if scene.name.isdigit() else scene.name, "im_id": im_id,
                        "cam_K": cam.get("cam_K"), "depth_scale": cam.get("depth_scale")}}
        records.append(Record(
            image_path=path, image_id=first_id + len(records), boxes=boxes[keep],
            labels=[obj_name(insts[i]["obj_id"], names) for i in idx], ignore=ignore,
            width=size[0] if size else None, height=size[1] if size else None, meta=meta,
            box_attrs=[{"visib_fract": round(float(visib[i]), 4), "occlusion": round(1.0 - float(visib[i]), 4)}
                       for i in idx]))
    return records


def _classes(root: Path, records: list[Record], names) -> list[str]:
    """Every object of ``models/models_info.json`` when the dataset has one, else those seen."""
    for models in (root / "models", root.parent / "models", root.parent.parent / "models"):
        info = models / "models_info.json"
        if info.is_file():
            return [obj_name(k, names) for k in sorted(_read_json(info), key=int)]
    return sorted({name for r in records for name in r.labels})


def read_bop(path: Path, *, split: str | None = None, names: Mapping[Any, str] | None = None,
             min_visib_fract: float | None = None, **_: object) -> LabelledSet:
    root = Path(path)
    min_visib = DEFAULT_MIN_VISIB_FRACT if min_visib_fract is None else float(min_visib_fract)
    issues = LabelIssues()
    records: list[Record] = []
    for scene in _scenes(root, split):
        records += _scene_records(scene, names, min_visib, issues, first_id=len(records) + 1)
    if not records:
        raise DatasetError(f"{root}: BOP set holds no images with annotations")
    classes = _classes(root, records, names)
    unknown = sorted({n for r in records for n in r.labels} - set(classes))
    return LabelledSet(records=records, classes=classes + unknown, fmt="bop", root=root, issues=issues)
