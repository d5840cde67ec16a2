"""User assets (scene.assets): import a mesh file once, keep it as numpy geometry.

Importers are a registry by suffix. A ``.blend`` is appended through ``bpy.data.libraries``
with script auto-execution off, so opening an untrusted file runs none of its scripts.
Whatever was imported is merged into one mesh (world transforms applied), centred, and
the imported data blocks are deleted again.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import bpy
import numpy as np

from render.geometry import Mesh
from sim2real.errors import ConfigError


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


def load_asset(asset) -> Mesh:
    """Import ``asset.path`` and return its merged, centred (optionally unit-size) mesh."""
    path = Path(asset.path)
    before = set(bpy.data.objects)
    try:
        IMPORTERS[path.suffix.lower()](str(path.resolve()))
    except (RuntimeError, OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"{path}: cannot import asset ({str(exc).splitlines()[0] if str(exc) else exc})") from exc
    new = [o for o in bpy.data.objects if o not in before]
    verts, faces, off = [], [], 0
    depsgraph = bpy.context.evaluated_depsgraph_get()
    for obj in new:
        if obj.type != "MESH":
            continue
        me = obj.evaluated_get(depsgraph).to_mesh()
        me.calc_loop_triangles()
        co = np.empty(len(me.vertices) * 3, np.float32)
        me.vertices.foreach_get("co", co)
        co = co.reshape(-1, 3) @ np.asarray(obj.matrix_world)[:3, :3].T + np.asarray(obj.matrix_world)[:3, 3]
        tri = np.empty(len(me.loop_triangles) * 3, np.int32)
        me.loop_triangles.foreach_get("vertices", tri)
        verts.append(co)
        faces.extend(map(tuple, (tri.reshape(-1, 3) + off).tolist()))
        off += len(co)
        obj.evaluated_get(depsgraph).to_mesh_clear()
    for obj in new:
        bpy.data.objects.remove(obj, do_unlink=True)
    bpy.data.orphans_purge(do_local_ids=True, do_recursive=True)
    if not faces:
        raise ConfigError(f"{path}: asset holds no mesh faces (unreadable or empty file)")
    mesh = Mesh(np.concatenate(verts).astype(float), faces).centred()
    if asset.normalize:
        mesh = mesh.scaled(1.0 / max(float(np.ptp(mesh.verts, axis=0).max()), 1e-9))
    return mesh
