"""One render process: builds the Blender scene once, then renders and writes images by index.

Runs inside a worker process (render/workers.py) or, with ``workers=0``, in the caller.
Everything an image shows comes from ``sample_image(cfg, index)``, so the same index gives
the same pixels and labels in whichever process, shard or resume renders it.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from render import proxy_camera
from render.colour import to_display
from render.config import RenderConfig
from render.frame import apply_intrinsics, frame_size
from render.occlusion import fractions, silhouette_areas
from render.sampling import image_rng, sample_image, target_classes
from render.scenes import create as create_scene
from sim2real.dataset import DatasetWriter
from sim2real.masks import annotations_from_ids

log = logging.getLogger(__name__)

PURGE_EVERY = 50


def to_config(cfg) -> RenderConfig:
    """A typed RenderConfig from a DictConfig (typed or not) or a plain dict.

    Untyped input (e.g. a node of another stage's config) is merged onto the schema, so
    missing keys take their defaults and unknown keys still fail, naming the key.
    """
    if isinstance(cfg, RenderConfig):
        typed = cfg
    elif OmegaConf.is_config(cfg) and isinstance(obj := OmegaConf.to_object(cfg), RenderConfig):
        typed = obj
    else:
        plain = OmegaConf.to_object(cfg) if OmegaConf.is_config(cfg) else cfg
        typed = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(RenderConfig), plain))  # type: ignore[assignment]
    resolve_scene_paths(typed.scene)
    apply_intrinsics(typed)
    return typed


def resolve_scene_paths(scene) -> None:
    """Relative asset paths and ``camera.intrinsics`` resolve against ``scene.root`` (in place)."""
    if not scene.root:
        return
    root = Path(scene.root).expanduser()
    for asset in scene.assets:
        if asset.path and not Path(asset.path).is_absolute():
            asset.path = str(root / asset.path)
    if scene.camera.intrinsics and not Path(scene.camera.intrinsics).is_absolute():
        scene.camera.intrinsics = str(root / scene.camera.intrinsics)
    scene.root = None  # resolved: applying it again must not prefix twice


@dataclass
class Timing:
    index: int
    render_s: float
    total_s: float


class Renderer:
    def __init__(self, cfg, writer_args: dict) -> None:
        from render.blender.assets import load_asset
        from render.blender.studio import Studio, reset_blender

        self.cfg = cfg = to_config(cfg)
        kind = create_scene(cfg.scene.name)
        reset_blender()
        builtin = kind.target_meshes()
        targets = {c: builtin[c] for c in cfg.scene.classes if cfg.scene.include_builtin and c in builtin}
        own = {}  # class -> datablock of an asset that keeps its own look
        for a in cfg.scene.assets:
            loaded = load_asset(a)
            targets[a.class_name] = loaded.mesh
            own.pop(a.class_name, None)
            if loaded.data is not None:
                own[a.class_name] = loaded.data
        missing = [c for c in target_classes(cfg.scene) if c not in targets]
        if missing:
            from sim2real.errors import ConfigError
            raise ConfigError(f"scene.classes: {missing} not known to scene {kind.name!r} (has {sorted(builtin)})")
        self.kind = kind
        self.frame = frame_size(cfg.resolution, cfg.aspect)
        self.studio = Studio(cfg, targets, kind.distractor_meshes(), own)
        self.writer = DatasetWriter(Path(cfg.out_dir), **writer_args)
        self.category_of = self.writer.category_ids
        self.count = 0

    def render_one(self, index: int) -> Timing:
        t0 = time.perf_counter()
        cfg = self.cfg
        meta, geometry = sample_image(cfg, index, self.kind, self.studio.catalog)
        self.studio.apply(meta, geometry)
        linear, ids, depth, render_s = self.studio.render()
        if cfg.reality.camera_model.enabled:
            params = proxy_camera.sample_params(image_rng(meta["seed"], 1), cfg.reality.camera_model)
            image = proxy_camera.apply(linear, params)
            meta["camera_model"] = params
        else:
            image = to_display(linear, cfg.reality.view_transform)
        cat = {o["instance_id"]: self.category_of[o["class"]] for o in meta["objects"]}
        anns = annotations_from_ids(ids, cat, min_area=cfg.min_visible_px)
        self._occlusion(meta, ids, anns, geometry)
        visible = {a["instance_id"] for a in anns}
        # Instances below min_visible_px get no annotation; drop them from the id map too, so
        # every non-zero id in a mask has exactly one annotation.
        ids = np.where(np.isin(ids, list(visible)), ids, 0).astype(np.uint16)
        for o in meta["objects"]:
            o["visible"] = o["instance_id"] in visible
        meta["num_visible"] = len(visible)
        self.writer.add(index, image=image, mask=ids, annotations=anns, meta=meta,
                        depth=depth if cfg.save_depth else None)
        self.count += 1
        if self.count % PURGE_EVERY == 0:
            self.studio.purge()
        return Timing(index, render_s, time.perf_counter() - t0)

    def _occlusion(self, meta: dict, ids: np.ndarray, anns: list[dict], geometry: dict) -> None:
        """Add ``occlusion`` and ``truncation`` to each annotation and target (render/occlusion.py)."""
        cam = meta["camera"]
        cam_world = np.asarray(self.studio.camera.matrix_world)
        by_id = {a["instance_id"]: a for a in anns}
        for k, o in enumerate(meta["objects"]):
            base = self.studio.catalog.targets[o["class"]]
            obj_world = np.asarray(self.studio.slots[k].matrix_world)
            in_frame, total = silhouette_areas(geometry.get(k, base.verts), base.faces, obj_world, cam_world,
                                               cam["focal_mm"], cam["sensor_mm"], self.frame,
                                               tuple(cam.get("shift", (0.0, 0.0))))
            visible = int((ids == o["instance_id"]).sum())
            o["occlusion"], o["truncation"] = fractions(visible, in_frame, total)
            if o["instance_id"] in by_id:
                by_id[o["instance_id"]]["occlusion"] = o["occlusion"]
                by_id[o["instance_id"]]["truncation"] = o["truncation"]

    def close(self) -> None:
        self.studio.close()


def rss_mb() -> float:
    """Resident memory of this process in MiB (Linux /proc; 0 elsewhere)."""
    try:
        for line in Path(f"/proc/{os.getpid()}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def silence_blender_stdout() -> None:
    """Blender prints a line per render on fd 1; workers talk over a queue, so drop it."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)

