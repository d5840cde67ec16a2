"""User assets (scene.assets): import a mesh file once, keep its look and its numpy geometry.

Importers are a registry by suffix. A ``.blend`` is appended through ``bpy.data.libraries``
with script auto-execution off, so opening an untrusted file runs none of its scripts.
Whatever was imported is evaluated (modifiers applied), moved by its world transforms and
joined into ONE mesh datablock that keeps its material slots, UV maps and colour attributes;
it is centred, scaled (``unit_scale``, then ``normalize``) and kept (fake user), and the
imported objects are deleted again. A mesh with colour attributes but no material (PLY
vertex colours) gets a generated material reading them. Sampling, placement, dents and the
occlusion raster use the numpy ``Mesh``, whose vertices are the datablock's, in order.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import bpy
import numpy as np

from render.blender.look import colour_attribute_material
from render.geometry import Mesh
from sim2real.errors import ConfigError

log = logging.getLogger(__name__)


def _blend(path: str) -> None:
    bpy.context.preferences.filepaths.use_scripts_auto_execute = False
    with bpy.data.libraries.load(path, link=False) as (src, dst):
        dst.objects = list(src.objects)
    for obj in dst.objects:
        if obj is not None:
            bpy.context.scene.collection.objects.link(obj)


IMPORTERS: dict[str, Callable[[str], None]] = {
    ".obj": lambda p: bpy.ops.wm.obj_import(filepath=p),
    ".ply": lambda p: bpy.ops.wm.ply_import(filepath=p),
    ".stl": lambda p: bpy.ops.wm.stl_import(filepath=p),
    ".glb": lambda p: bpy.ops.import_scene.gltf(filepath=p),
    ".gltf": lambda p: bpy.ops.import_scene.gltf(filepath=p),
    ".fbx": lambda p: bpy.ops.import_scene.fbx(filepath=p),
    ".blend": _blend,
}


@dataclass
class LoadedAsset:
    """An asset's geometry, and its datablock when it keeps its own look (else ``None``)."""

    mesh: Mesh
    data: bpy.types.Mesh | None


def load_asset(asset) -> LoadedAsset:
    """Import ``asset.path``: its merged, centred, scaled mesh, with its look unless material=random."""
    path = Path(asset.path)
    new = _import(path)
    data = _merge([o for o in new if o.type == "MESH"], f"asset:{asset.class_name}")
    for obj in new:
        bpy.data.objects.remove(obj, do_unlink=True)
    bpy.data.orphans_purge(do_local_ids=True, do_recursive=True)
    if data is None or not len(data.polygons):
        _drop(data)
        raise ConfigError(f"{path}: asset holds no mesh faces (unreadable or empty file)")
    mesh = _fit(data, asset.unit_scale, asset.normalize)
    if asset.material == "random" or not _keep_look(data, path):
        _drop(data)
        return LoadedAsset(mesh, None)
    return LoadedAsset(mesh, data)


def _import(path: Path) -> list[bpy.types.Object]:
    """Run the importer for ``path``; the objects it created."""
    before = set(bpy.data.objects)
    try:
        IMPORTERS[path.suffix.lower()](str(path.resolve()))
    except (RuntimeError, OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"{path}: cannot import asset ({str(exc).splitlines()[0] if str(exc) else exc})") from exc
    return [o for o in bpy.data.objects if o not in before]


def _merge(objects: list[bpy.types.Object], name: str) -> bpy.types.Mesh | None:
    """One datablock from the evaluated meshes in world space, materials and layers kept."""
    depsgraph = bpy.context.evaluated_depsgraph_get()
    parts = []
    for obj in objects:
        me = bpy.data.meshes.new_from_object(obj.evaluated_get(depsgraph), preserve_all_data_layers=True,
                                             depsgraph=depsgraph)
        me.transform(obj.matrix_world)
        holder = bpy.data.objects.new(f"{name}:{len(parts)}", me)
        bpy.context.scene.collection.objects.link(holder)
        parts.append(holder)
    if not parts:
        return None
    if len(parts) > 1:
        with bpy.context.temp_override(active_object=parts[0], object=parts[0], selected_objects=parts,
                                       selected_editable_objects=parts):
            bpy.ops.object.join()
    data = parts[0].data
    data.name = name
    data.use_fake_user = True  # outlives the holder object and the orphan purge
    bpy.data.objects.remove(parts[0], do_unlink=True)
    return data


def _fit(data: bpy.types.Mesh, unit_scale: float, normalize: bool) -> Mesh:
    """Scale by ``unit_scale``, centre, optionally rescale to unit size; same in numpy and in ``data``."""
    co = np.empty(len(data.vertices) * 3, np.float32)
    data.vertices.foreach_get("co", co)
    verts = co.reshape(-1, 3).astype(float) * unit_scale
    data.calc_loop_triangles()
    tri = np.empty(len(data.loop_triangles) * 3, np.int32)
    data.loop_triangles.foreach_get("vertices", tri)
    mesh = Mesh(verts, list(map(tuple, tri.reshape(-1, 3).tolist()))).centred()
    if normalize:
        mesh = mesh.scaled(1.0 / max(float(np.ptp(mesh.verts, axis=0).max()), 1e-9))
    data.vertices.foreach_set("co", np.ascontiguousarray(mesh.verts, np.float32).ravel())
    data.update()
    return mesh


def _keep_look(data: bpy.types.Mesh, path: Path) -> bool:
    """Whether the asset has a look to keep; a material for bare colour attributes is made here."""
    if any(m is not None for m in data.materials):
        return True
    colours = data.color_attributes
    if len(colours):
        index = colours.render_color_index if 0 <= colours.render_color_index < len(colours) else 0
        data.materials.clear()
        data.materials.append(colour_attribute_material(f"{data.name}:colour", colours[index].name))
        return True
    log.info("%s: no material and no colour attribute; it gets random materials", path)
    return False


def _drop(data: bpy.types.Mesh | None) -> None:
    if data is not None:
        bpy.data.meshes.remove(data)
