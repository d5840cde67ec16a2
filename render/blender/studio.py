"""The studio: the Blender scene of one worker, built once, then re-dressed for every image.

Objects, lamps and materials live in slots that are reused from image to image; each image
sets every property of every slot it uses and hides the rest, so what an image shows is a
function of its meta alone (determinism across workers, shards and resumes) while nothing
is rebuilt from scratch (speed) and no data blocks pile up (memory). A user asset that
keeps its own look occupies a slot as a copy of its datablock (render/blender/look.py).
"""
from __future__ import annotations

import math
import os
import time

import bpy
import numpy as np
from mathutils import Quaternion, Vector

from render.blender.look import set_jitter, slot_copy
from render.blender.materials import build_ground_material, build_object_material
from render.blender.world import World
from render.exr import read_exr, scratch_exr
from render.frame import frame_size
from render.geometry import Mesh
from render.sampling import Catalog, own_look_ranges

PASS_RGB = ("ViewLayer.Combined.R", "ViewLayer.Combined.G", "ViewLayer.Combined.B")
PASS_IDS = "ViewLayer.Object Index.X"
PASS_DEPTH = "ViewLayer.Depth.Z"


def new_mesh(name: str, m: Mesh) -> bpy.types.Mesh:
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(m.verts.tolist(), [], [list(f) for f in m.faces])
    mesh.polygons.foreach_set("use_smooth", [m.smooth] * len(mesh.polygons))
    mesh.update()
    return mesh


def reset_blender() -> None:
    """An empty factory scene with script auto-execution off."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.preferences.filepaths.use_scripts_auto_execute = False


class Studio:
    def __init__(self, cfg, targets: dict[str, Mesh], distractors: dict[str, Mesh],
                 own: dict[str, bpy.types.Mesh] | None = None) -> None:
        """``own``: class -> the merged datablock of an asset that keeps its own look."""
        self.cfg = cfg
        self.own = own or {}
        self.scene = bpy.context.scene
        self._engine(cfg)
        self.world = World(self.scene, cfg.reality.background.hdri_dir, cfg.reality.background.photo_dir,
                           cfg.reality.materials.texture_dir)
        wc = self.world.world.cycles
        if cfg.reality.world_map_resolution > 0:
            wc.sampling_method, wc.sample_map_resolution = "MANUAL", cfg.reality.world_map_resolution
        else:
            wc.sampling_method = "NONE"
        self.catalog = Catalog(targets=targets, distractors=distractors,
                               hdris=sorted(self.world.hdri_paths), photos=sorted(self.world.photo_paths),
                               textures=sorted(self.world.texture_paths),
                               own_look=own_look_ranges(cfg.scene.assets, self.own))
        self.camera = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
        self.scene.collection.objects.link(self.camera)
        self.scene.camera = self.camera
        size = cfg.scene.ground.size / 2
        quad = Mesh(np.array([[-size, -size, 0], [size, -size, 0], [size, size, 0], [-size, size, 0]], float),
                    [(0, 1, 2, 3)])
        self.ground = bpy.data.objects.new("ground", new_mesh("ground", quad))
        self.ground_mat = bpy.data.materials.new("ground")
        self.ground.data.materials.append(self.ground_mat)
        self.scene.collection.objects.link(self.ground)
        self.slots: list[bpy.types.Object] = []
        self.slot_meshes: dict[tuple[int, str], bpy.types.Mesh] = {}
        self.lamps: list[bpy.types.Object] = []
        self.exr = scratch_exr()
        self.scene.render.filepath = str(self.exr)

    def _engine(self, cfg) -> None:
        sc, re = self.scene, cfg.reality
        sc.render.engine = "CYCLES"
        cy = sc.cycles
        cy.device = "CPU"
        cy.samples = re.samples
        cy.use_adaptive_sampling = False
        cy.use_denoising = re.denoise
        if re.denoise:
            cy.denoiser = "OPENIMAGEDENOISE"
            cy.denoising_prefilter = re.denoise_prefilter
        cy.max_bounces = re.max_bounces
        for k in ("diffuse_bounces", "glossy_bounces", "transmission_bounces", "volume_bounces"):
            setattr(cy, k, min(getattr(cy, k), re.max_bounces))
        cy.transparent_max_bounces = max(re.max_bounces, 4)
        cy.caustics_reflective = cy.caustics_refractive = False
        r = sc.render
        r.resolution_x, r.resolution_y = frame_size(cfg.resolution, cfg.aspect if cfg.aspect is not None else 1.0)
        r.resolution_percentage = 100
        r.use_persistent_data = False  # measured: re-syncing a changed world costs ~1 s with it on
        threads = cfg.threads or max(1, (os.cpu_count() or 1) // max(1, cfg.workers))
        r.threads_mode, r.threads = "FIXED", threads
        vl = sc.view_layers[0]
        vl.use_pass_object_index = True
        vl.use_pass_z = True
        s = r.image_settings
        s.media_type = "MULTI_LAYER_IMAGE"
        s.file_format = "OPEN_EXR_MULTILAYER"
        s.color_depth = "32"
        s.exr_codec = "NONE"
        sc.view_settings.view_transform = "Standard"

    # ----------------------------------------------------------------- per image
    def _mesh_for(self, k: int, key: str, base: Mesh, verts: np.ndarray | None) -> bpy.types.Mesh:
        mesh = self.slot_meshes.get((k, key))
        if mesh is None:
            mesh = self._new_slot_mesh(f"slot_{k:03d}:{key}", key, base)
            self.slot_meshes[(k, key)] = mesh
        # Always write the coordinates: a previous image may have dented this mesh.
        mesh.vertices.foreach_set("co", np.ascontiguousarray(verts if verts is not None else base.verts,
                                                            np.float32).ravel())
        mesh.update()
        return mesh

    def _new_slot_mesh(self, name: str, key: str, base: Mesh) -> bpy.types.Mesh:
        """An own-look asset: a copy of its datablock; anything else: built from numpy, one material."""
        own = self.own.get(key[2:]) if key.startswith("t:") else None
        if own is not None:
            return slot_copy(own, name)
        mesh = new_mesh(name, base)
        mesh.materials.append(bpy.data.materials.new(name))
        mesh.use_fake_user = True  # kept while another class occupies the slot
        return mesh

    def _place(self, k: int, item: dict, key: str, base: Mesh, verts, pass_index: int) -> None:
        mesh = self._mesh_for(k, key, base, verts)
        if k == len(self.slots):
            obj = bpy.data.objects.new(f"slot_{k:03d}", mesh)
            self.scene.collection.objects.link(obj)
            self.slots.append(obj)
        obj = self.slots[k]
        if obj.data is not mesh:
            obj.data = mesh
        obj.hide_render = False
        obj.location = item["location"]
        obj.rotation_euler = item["rotation_euler"]
        obj.scale = (item["scale"],) * 3
        obj.pass_index = pass_index
        params = item["material_params"]
        if params.get("own"):
            set_jitter(mesh, params["jitter"])
        else:
            build_object_material(mesh.materials[0], params, self.world.texture)

    def _lamp(self, k: int) -> bpy.types.Object:
        while len(self.lamps) <= k:
            obj = bpy.data.objects.new(f"lamp_{len(self.lamps):02d}", bpy.data.lights.new(f"lamp_{len(self.lamps):02d}", "POINT"))
            self.scene.collection.objects.link(obj)
            self.lamps.append(obj)
        return self.lamps[k]

    def apply(self, meta: dict, geometry: dict[int, np.ndarray]) -> None:
        cat = self.catalog
        k = 0
        for i, o in enumerate(meta["objects"]):
            self._place(k, o, "t:" + o["class"], cat.targets[o["class"]], geometry.get(i), o["instance_id"])
            k += 1
        for d in meta["distractors"]:
            self._place(k, d, "d:" + d["kind"], cat.distractors[d["kind"]], None, 0)
            k += 1
        for obj in self.slots[k:]:
            obj.hide_render = True
        lights = meta["lighting"]["lights"]
        for j, spec in enumerate(lights):
            lamp = self._lamp(j)
            lamp.hide_render = False
            lamp.data.type = spec["type"]
            data = lamp.data
            data.energy = spec["energy"]
            data.color = spec["color"]
            if spec["type"] == "AREA":
                data.size = spec["size"]
            elif spec["type"] in ("POINT", "SPOT"):
                data.shadow_soft_size = spec["size"] * 0.3
            if spec["type"] == "SPOT":
                data.spot_size = math.radians(spec["spot_deg"])
            lamp.location = spec["location"]
            lamp.rotation_euler = (Vector(spec["target"]) - Vector(spec["location"])).to_track_quat("-Z", "Y").to_euler()
        for lamp in self.lamps[len(lights):]:
            lamp.hide_render = True
        self.world.apply(meta["lighting"], meta["background"])
        g = meta["ground"]
        self.ground.hide_render = not g["visible"]
        if g["visible"]:
            build_ground_material(self.ground_mat, g, textured=self.cfg.reality.materials.ground_textured,
                                  images=self.world.texture)
        c = meta["camera"]
        cam = self.camera
        cam.location = c["location"]
        quat = (Vector(c["look_at"]) - Vector(c["location"])).to_track_quat("-Z", "Y")
        cam.rotation_euler = (quat @ Quaternion((0.0, 0.0, 1.0), math.radians(c["roll_deg"]))).to_euler()
        cam.data.lens = c["focal_mm"]
        cam.data.sensor_width = c["sensor_mm"]
        cam.data.shift_x, cam.data.shift_y = c.get("shift", (0.0, 0.0))
        cam.data.clip_end = self.cfg.scene.camera.clip_end
        self.scene.cycles.seed = meta["seed"] % (2**31 - 1)

    def render(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """One Cycles render: linear RGB (HxWx3), instance ids (uint16), depth, render seconds."""
        t0 = time.perf_counter()
        bpy.ops.render.render(write_still=True)
        seconds = time.perf_counter() - t0
        passes = read_exr(self.exr)
        rgb = np.stack([passes[c] for c in PASS_RGB], -1)
        ids = np.rint(passes[PASS_IDS]).astype(np.uint16)
        depth = passes[PASS_DEPTH]
        depth = np.where(depth >= 1e9, np.inf, depth).astype(np.float32)
        return rgb, ids, depth, seconds

    def purge(self) -> None:
        """Drop orphan data blocks (images, node groups, meshes no slot uses any more)."""
        bpy.data.orphans_purge(do_local_ids=True, do_linked_ids=True, do_recursive=True)

    def close(self) -> None:
        self.exr.unlink(missing_ok=True)
