"""The world shader: what lights the scene and what the camera sees behind it.

Lighting (an HDR panorama, or a dim ambient under lamps) and background (panorama,
procedural pattern, plain colour, photo) are chosen independently: camera rays see the
background, every other ray sees the lighting (Light Path "Is Camera Ray").
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import bpy

from render.blender.materials import Nodes
from sim2real.errors import ConfigError

HDRI_SUFFIXES = (".exr", ".hdr")
PHOTO_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def builtin_hdri_dir() -> Path:
    return Path(bpy.utils.system_resource("DATAFILES")) / "studiolights" / "world"


def list_files(folder: str | os.PathLike | None, suffixes: tuple[str, ...], key: str) -> list[Path]:
    if folder is None:
        return []
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"{key}: folder {folder} does not exist")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in suffixes)


class World:
    def __init__(self, scene: bpy.types.Scene, hdri_dir: str | None, photo_dir: str | None,
                 texture_dir: str | None = None) -> None:
        self.world = bpy.data.worlds.new("sim2real_world")
        scene.world = self.world
        paths = list_files(builtin_hdri_dir(), HDRI_SUFFIXES, "hdri") + list_files(
            hdri_dir, HDRI_SUFFIXES, "reality.background.hdri_dir")
        self.hdri_paths = {p.stem: p for p in paths}
        self.photo_paths = {p.name: p for p in list_files(photo_dir, PHOTO_SUFFIXES, "reality.background.photo_dir")}
        self.texture_paths = {**{f"hdri:{k}": v for k, v in self.hdri_paths.items()},
                              **{p.name: p for p in list_files(texture_dir, PHOTO_SUFFIXES, "reality.materials.texture_dir")}}
        self._images: dict[str, bpy.types.Image] = {}

    def texture(self, name: str) -> bpy.types.Image:
        return self._image(self.texture_paths[name])

    def _image(self, path: Path) -> bpy.types.Image:
        key = str(path)
        if key not in self._images:
            try:
                self._images[key] = bpy.data.images.load(key, check_existing=True)
                self._images[key].use_fake_user = True  # cached for later images
            except RuntimeError as exc:
                raise ConfigError(f"{path}: cannot load image ({exc})") from exc
        return self._images[key]

    def _env(self, n: Nodes, name: str, rotation_deg: float, strength: float):
        coords = n.add("ShaderNodeTexCoord")
        mapping = n.add("ShaderNodeMapping", Rotation=(0.0, 0.0, math.radians(rotation_deg)))
        n.link(coords.outputs["Generated"], mapping, "Vector")
        env = n.add("ShaderNodeTexEnvironment", _image=self._image(self.hdri_paths[name]))
        n.link(mapping.outputs["Vector"], env, "Vector")
        bg = n.add("ShaderNodeBackground", Strength=strength)
        n.link(env.outputs["Color"], bg, "Color")
        return bg.outputs[0]

    def _procedural(self, n: Nodes, b: dict):
        coords = n.add("ShaderNodeTexCoord")
        pattern = b["name"]
        if pattern == "gradient":
            sep = n.add("ShaderNodeSeparateXYZ")
            n.link(coords.outputs["Generated"], sep, "Vector")
            fac = sep.outputs["Z"]
        else:
            kind = {"noise": "ShaderNodeTexNoise", "voronoi": "ShaderNodeTexVoronoi",
                    "waves": "ShaderNodeTexWave"}[pattern]
            tex = n.add(kind, Scale=b["scale"])
            n.link(coords.outputs["Generated"], tex, "Vector")
            fac = tex.outputs["Distance" if pattern == "voronoi" else "Factor"]
        bg = n.add("ShaderNodeBackground", Strength=b["strength"])
        n.link(n.mix(b["color"], b["color2"], fac).outputs[2], bg, "Color")
        return bg.outputs[0]

    def apply(self, lighting: dict, background: dict) -> None:
        n = Nodes(self.world.node_tree)
        out = n.add("ShaderNodeOutputWorld")
        if lighting["kind"] == "hdri":
            light = self._env(n, lighting["hdri"], lighting["rotation_deg"], lighting["energy"])
        else:
            light = n.add("ShaderNodeBackground", Color=(*lighting["ambient_color"], 1.0),
                          Strength=lighting["ambient"]).outputs[0]
        kind = background["kind"]
        if kind == "hdri" and lighting["kind"] == "hdri" and background["name"] == lighting["hdri"]:
            n.link(light, out, "Surface")
            return
        if kind == "hdri":
            seen = self._env(n, background["name"], background["rotation_deg"], background["strength"])
        elif kind == "photo":
            coords = n.add("ShaderNodeTexCoord")
            tex = n.add("ShaderNodeTexImage", _image=self._image(self.photo_paths[background["name"]]))
            n.link(coords.outputs["Window"], tex, "Vector")
            bg = n.add("ShaderNodeBackground", Strength=1.0)
            n.link(tex.outputs["Color"], bg, "Color")
            seen = bg.outputs[0]
        elif kind == "plain":
            seen = n.add("ShaderNodeBackground", Color=(*background["color"], 1.0), Strength=1.0).outputs[0]
        else:
            seen = self._procedural(n, background)
        path = n.add("ShaderNodeLightPath")
        mix = n.add("ShaderNodeMixShader")
        n.link(path.outputs["Is Camera Ray"], mix, 0)
        n.link(light, mix, 1)
        n.link(seen, mix, 2)
        n.link(mix.outputs[0], out, "Surface")
