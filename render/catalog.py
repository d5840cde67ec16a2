"""The sampling ``Catalog`` a render worker builds, without building the Blender scene.

Sampling a scene (``render.sampling.sample_image``) needs the target and distractor meshes
and the names in the image pools (panoramas, photos, textures), since what is drawn from
them shifts the random stream. Built-in meshes are numpy; user assets and the pools need
Blender, which runs in a spawned process so that ``bpy`` never enters the caller (the scene
fit runs beside torch in the pipeline). The result is the worker's catalog exactly, so a
sampled index gives the same meta as its render.
"""
from __future__ import annotations

import multiprocessing as mp

from omegaconf import OmegaConf

from render.sampling import Catalog, own_look_ranges, target_classes
from render.scenes import create as create_scene
from render.scenes.base import SceneKind
from sim2real.errors import ConfigError


def sampling_catalog(cfg) -> tuple[SceneKind, Catalog]:
    """The scene kind and catalog of the typed render config ``cfg`` (render.renderer.to_config)."""
    kind = create_scene(cfg.scene.name)
    plain = OmegaConf.to_container(OmegaConf.structured(cfg), resolve=True, enum_to_str=True)
    from render.workers import clean_spawn

    with clean_spawn():
        pool = mp.get_context("spawn").Pool(1)
    with pool:
        assets, pools = pool.apply(_from_blender, (plain,))
    builtin = kind.target_meshes()
    targets = {c: builtin[c] for c in cfg.scene.classes if cfg.scene.include_builtin and c in builtin}
    targets.update({name: mesh for name, (mesh, _) in assets.items()})
    own = [name for name, (_, keeps_look) in assets.items() if keeps_look]
    missing = [c for c in target_classes(cfg.scene) if c not in targets]
    if missing:
        raise ConfigError(f"scene.classes: {missing} not known to scene {kind.name!r} (has {sorted(builtin)})")
    return kind, Catalog(targets=targets, distractors=kind.distractor_meshes(), hdris=pools["hdris"],
                         photos=pools["photos"], textures=pools["textures"],
                         own_look=own_look_ranges(cfg.scene.assets, own))


def _from_blender(plain: dict) -> tuple[dict, dict]:
    """In a fresh process: each asset's mesh and whether it keeps its own look, and the pools."""
    from render.blender.assets import load_asset
    from render.blender.studio import reset_blender
    from render.blender.world import World
    from render.renderer import to_config

    import bpy

    cfg = to_config(plain)
    reset_blender()
    assets = {}
    for a in cfg.scene.assets:
        loaded = load_asset(a)
        assets[a.class_name] = (loaded.mesh, loaded.data is not None)
    bg, mats = cfg.reality.background, cfg.reality.materials
    world = World(bpy.context.scene, bg.hdri_dir, bg.photo_dir, mats.texture_dir)
    return assets, {"hdris": sorted(world.hdri_paths), "photos": sorted(world.photo_paths),
                    "textures": sorted(world.texture_paths)}
