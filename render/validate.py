"""Checks that run before Blender starts: shard ranges, asset files and looks, placement feasibility."""
from __future__ import annotations

import logging
from pathlib import Path

from render.placement import check_feasible
from render.sampling import target_classes
from render.scenes import create as create_scene
from sim2real.errors import ConfigError

log = logging.getLogger(__name__)
ASSET_SUFFIXES = (".obj", ".ply", ".stl", ".glb", ".gltf", ".fbx", ".blend")
ASSET_MATERIALS = ("own", "random")
JITTER_LIMITS = {"hue": 0.5, "saturation": 1.0, "value": 1.0, "roughness": 1.0}


def check_asset_paths(assets) -> None:
    """Fail before any rendering when an asset file is missing, of an unknown type, or badly set."""
    for i, a in enumerate(assets):
        path = Path(a.path)
        if not a.class_name:
            raise ConfigError(f"scene.assets[{i}].class_name: empty for {path}")
        if path.suffix.lower() not in ASSET_SUFFIXES:
            raise ConfigError(f"{path}: unsupported asset type {path.suffix!r} (use one of {list(ASSET_SUFFIXES)})")
        if not path.is_file():
            raise ConfigError(f"{path}: asset file not found (scene.assets[{i}])")
        check_asset_look(i, a)


def check_asset_look(i: int, a) -> None:
    """``material``, ``unit_scale`` and ``jitter`` of ``scene.assets[i]``, one line per problem."""
    if a.material not in ASSET_MATERIALS:
        raise ConfigError(f"scene.assets[{i}].material: unknown {a.material!r} (use one of {list(ASSET_MATERIALS)})")
    if not a.unit_scale > 0:
        raise ConfigError(f"scene.assets[{i}].unit_scale: must be > 0, got {a.unit_scale}")
    for key, top in JITTER_LIMITS.items():
        value = getattr(a.jitter, key)
        if not 0 <= value <= top:
            raise ConfigError(f"scene.assets[{i}].jitter.{key}: must lie in [0, {top}], got {value}")


def warn_unusable_backgrounds(bg) -> None:
    """A photo background weight without photos is dropped when sampling: say so, once."""
    if float(bg.weights.get("photo", 0.0)) > 0 and not bg.photo_dir:
        others = sorted(k for k, w in bg.weights.items() if k != "photo" and float(w) > 0)
        log.warning("reality.background.weights.photo=%s but reality.background.photo_dir is not set: "
                    "no photo backgrounds, only %s", bg.weights["photo"], others)


def check_config(cfg) -> None:
    if cfg.resolution < 8:
        raise ConfigError(f"resolution: must be at least 8, got {cfg.resolution}")
    if cfg.num_images < 1:  # an empty dataset marked complete would pass every later check
        raise ConfigError(f"num_images: must be at least 1, got {cfg.num_images}")
    if not 0 <= cfg.shard.index < cfg.shard.count:
        raise ConfigError(f"shard.index: must lie in [0, shard.count={cfg.shard.count}), got {cfg.shard.index}")
    if cfg.workers < 0:
        raise ConfigError(f"workers: must be >= 0, got {cfg.workers}")
    lo, hi = cfg.scene.objects.count
    if lo < 0 or hi < lo:
        raise ConfigError(f"scene.objects.count: need 0 <= low <= high, got {[lo, hi]}")
    if not target_classes(cfg.scene):
        raise ConfigError("scene.classes: no target class (empty classes and no assets)")
    check_asset_paths(cfg.scene.assets)
    warn_unusable_backgrounds(cfg.reality.background)
    kind = create_scene(cfg.scene.name)
    meshes = kind.target_meshes()
    unknown = [c for c in cfg.scene.classes if cfg.scene.include_builtin and c not in meshes]
    if unknown:
        raise ConfigError(f"scene.classes: {unknown} not known to scene {kind.name!r} (has {sorted(meshes)})")
    pl = cfg.scene.objects.placement
    if pl.mode in ("ground", "flying") and kind.name != "containers":
        used = [meshes[c] for c in cfg.scene.classes if c in meshes] if cfg.scene.include_builtin else []
        sizes = [m.radius for m in used] + [0.71 for a in cfg.scene.assets if a.normalize]
        scale = max(cfg.scene.objects.scale[1], *(a.scale[1] for a in cfg.scene.assets)) if cfg.scene.assets \
            else cfg.scene.objects.scale[1]
        if sizes:
            check_feasible(hi, max(sizes) * scale, pl.area_radius, pl.min_gap, "objects")


def shard_range(num_images: int, index: int, count: int) -> range:
    """Contiguous, disjoint index ranges covering [0, num_images) over ``count`` shards."""
    return range(num_images * index // count, num_images * (index + 1) // count)
