"""Per-image scene parameters from ``(seed, index)``: pure numpy, no Blender.

``sample_image`` returns the full scene description of one image (what Blender must show)
and the deformed vertex arrays it needs. The description is also the image's ``meta``, so
any image can be re-rendered exactly from its meta, and sampling is testable on its own.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from render.colour import hsv, kelvin_to_rgb
from render.geometry import Mesh, bend
from render.placement import Placer, sample_disc
from render.scenes.base import SceneKind, apply_deform, generic_material
from sim2real.errors import ConfigError

LIGHT_TYPES = ("POINT", "SUN", "AREA", "SPOT")
BACKGROUND_KINDS = ("hdri", "procedural", "photo", "plain")
PROCEDURAL_PATTERNS = ("noise", "gradient", "voronoi", "waves")


@dataclass
class Catalog:
    """What sampling needs from the built scene: meshes per class/distractor, HDRIs, photos.

    ``own_look``: asset classes that keep their own look -> their jitter ranges
    (``hue``, ``saturation``, ``value``, ``roughness``; scene.assets[i].jitter).
    """

    targets: dict[str, Mesh]
    distractors: dict[str, Mesh]
    hdris: list[str]
    photos: list[str]
    textures: list[str] = field(default_factory=list)
    own_look: dict[str, dict[str, float]] = field(default_factory=dict)


JITTER_KEYS = ("hue", "saturation", "value", "roughness")


def own_look_ranges(assets, own) -> dict[str, dict]:
    """Jitter ranges of the asset classes in ``own`` (those that keep their own look; the last
    asset of a class wins)."""
    ranges = {a.class_name: {k: float(getattr(a.jitter, k)) for k in JITTER_KEYS} for a in assets}
    return {c: ranges[c] for c in own}


def image_seed(seed: int, index: int) -> int:
    """The image's own seed, from ``np.random.default_rng([seed, index])``; recorded in meta.

    Everything random about the image (scene, Cycles' sampling pattern, the camera model)
    comes from it, so one image can be re-rendered from its meta seed alone.
    """
    return int(np.random.default_rng([int(seed), int(index)]).integers(2**31 - 1))


def image_rng(image_seed_: int, stream: int = 0) -> np.random.Generator:
    """Independent random streams of one image: 0 scene sampling, 1 camera model."""
    return np.random.default_rng([int(image_seed_), int(stream)])


def U(rng: np.random.Generator, r) -> float:
    lo, hi = float(r[0]), float(r[1])
    return float(rng.uniform(lo, hi)) if hi > lo else lo


def UI(rng: np.random.Generator, r) -> int:
    lo, hi = int(r[0]), int(r[1])
    return int(rng.integers(lo, hi + 1)) if hi > lo else lo


def choose(rng: np.random.Generator, weights: dict[str, float], allowed=None) -> str:
    items = [(k, float(w)) for k, w in weights.items() if w > 0 and (allowed is None or k in allowed)]
    if not items:
        raise ConfigError(f"no option with a positive weight among {sorted(weights)}")
    keys, w = zip(*items)
    p = np.asarray(w) / sum(w)
    return str(keys[int(rng.choice(len(keys), p=p))])


def euler_matrix(e) -> np.ndarray:
    """Blender's XYZ Euler as a matrix (R = Rz @ Ry @ Rx)."""
    x, y, z = e
    cx, sx, cy, sy, cz, sz = math.cos(x), math.sin(x), math.cos(y), math.sin(y), math.cos(z), math.sin(z)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def sample_pose(rng, pose, frac: float) -> list[float]:
    """Euler angles for pose.mode; ``frac`` (curriculum) scales the angular ranges."""
    yaw = rng.uniform(0, 2 * math.pi) * (frac if pose.mode == "random" else 1.0)
    if pose.mode == "upright":
        return [0.0, 0.0, yaw]
    if pose.mode == "tilted":
        t = math.radians(pose.tilt_deg) * frac
        return [rng.uniform(-t, t), rng.uniform(-t, t), yaw]
    if pose.mode == "random":
        return [rng.uniform(-math.pi, math.pi) * frac, rng.uniform(-math.pi / 2, math.pi / 2) * frac, yaw]
    raise ConfigError(f"scene.objects.pose.mode: unknown {pose.mode!r} (upright | tilted | random)")


def compose(first, then) -> list[float]:
    """Euler of rotation ``then`` applied after ``first``."""
    m = euler_matrix(then) @ euler_matrix(first)
    sy = math.hypot(m[0, 0], m[1, 0])
    if sy > 1e-6:
        return [math.atan2(m[2, 1], m[2, 2]), math.atan2(-m[2, 0], sy), math.atan2(m[1, 0], m[0, 0])]
    return [math.atan2(-m[1, 2], m[1, 1]), math.atan2(-m[2, 0], sy), 0.0]


def resting(verts: np.ndarray, euler, scale: float) -> tuple[float, float]:
    """Centre height that puts the rotated, scaled mesh on z=0, and its footprint radius."""
    v = (verts * scale) @ euler_matrix(euler).T
    return float(-v[:, 2].min()), float(np.linalg.norm(v[:, :2], axis=1).max())


def _r(x) -> list[float]:
    return [round(float(a), 5) for a in x]


def target_classes(scene) -> list[str]:
    names = list(scene.classes) if scene.include_builtin else []
    return names + [a.class_name for a in scene.assets if a.class_name not in names]


def sample_image(cfg, index: int, kind: SceneKind, cat: Catalog) -> tuple[dict, dict[int, np.ndarray]]:
    """The scene of image ``index``: meta dict + {object position in meta list: deformed verts}."""
    sc, re = cfg.scene, cfg.reality
    own_seed = image_seed(cfg.seed, index)
    rng = image_rng(own_seed, 0)
    frac = 1.0
    if sc.objects.pose.curriculum.enabled and cfg.num_images > 1:
        s = sc.objects.pose.curriculum.start
        frac = s + (1 - s) * index / (cfg.num_images - 1)
    classes = target_classes(sc)
    weights = {c: float(sc.objects.class_weights.get(c, 1.0)) for c in classes}
    negative = rng.uniform() < sc.objects.negative_fraction
    count = 0 if negative else UI(rng, sc.objects.count)
    drawn = _draw_unique(rng, weights, count) if sc.objects.unique else [choose(rng, weights) for _ in range(count)]
    pl = sc.objects.placement
    placer = Placer(rng, pl.area_radius, pl.min_gap, pl.max_attempts)
    objects, geometry = [], {}
    unplaced = 0

    layout = None
    if pl.mode == "rows":
        radius = max((cat.targets[c].radius for c in set(drawn)), default=0.0) * sc.objects.scale[1]
        layout = kind.arrange(rng, drawn, sc) or grid_layout(rng, drawn, radius, pl.min_gap)
    elif kind.name in ("containers", "cards"):
        layout = kind.arrange(rng, drawn, sc)
    for k, cls in enumerate(drawn):
        mesh = cat.targets[cls]
        scale = U(rng, _asset_scale(sc, cls) or sc.objects.scale)
        deform = kind.deform(rng, cls, sc, re.materials)
        verts = apply_deform(mesh.verts, deform)
        if deform and deform.get("bend"):  # scene=cards: a slight cylindrical bend
            verts = bend(verts, **deform["bend"])
        rest = kind.rest_rotation(rng, cls, sc)
        if layout is not None:
            _, xy, yaw = layout[k]
            rot = [0.0, 0.0, yaw] if rest is None else compose(rest, [0, 0, yaw])
            z, _ = resting(verts, rot, scale)
            loc = [xy[0], xy[1], z + (xy[2] if len(xy) > 2 else 0.0)]
        else:
            rot = sample_pose(rng, sc.objects.pose, frac)
            if rest is not None:
                rot = compose(rest, rot)
            z, foot = resting(verts, rot, scale)
            if pl.mode == "flying":
                p = placer.flying(foot, pl.flying_height)
                loc = None if p is None else [p[0], p[1], p[2] + z - foot]
            elif pl.mode in ("ground", "rows"):
                p = placer.on_ground(foot)
                loc = None if p is None else [p[0], p[1], z]
            else:
                raise ConfigError(f"scene.objects.placement.mode: unknown {pl.mode!r} (ground | flying | rows)")
            if loc is None:
                if not objects and k == count - 1:
                    raise ConfigError(
                        f"impossible placement: could not place any of {count} objects without overlap in "
                        f"{pl.max_attempts} tries each; lower scene.objects.count/scale or raise "
                        f"scene.objects.placement.area_radius")
                unplaced += 1  # a crowded draw: leave this one out (recorded in meta), keep the image
                continue
        if layout is not None:
            placer.add(np.asarray(loc[:2]), resting(verts, rot, scale)[1])
        if deform:
            geometry[len(objects)] = verts
        objects.append({
            "instance_id": len(objects) + 1, "class": cls, "role": "target", "scale": round(scale, 5),
            "location": _r(loc), "rotation_euler": _r(rot),
            "material": _target_material(rng, cls, kind, re.materials, cat), "deform": deform,
        })

    for o in objects:
        if not (o["material"].get("own") or o["material"].get("card")):
            _maybe_image_texture(rng, o["material"], re.materials, cat)
    distractors = _distractors(rng, sc, re, cat, placer)
    camera = _camera(rng, sc, objects)
    occluders = _occluders(rng, sc, re, cat, camera) if rng.uniform() < sc.occluders.prob else []
    lighting = _lighting(rng, sc, re, cat, camera)
    background = _background(rng, re, cat, lighting)
    ground = _ground(rng, sc, re, cat)
    for o in objects:
        o["material_params"] = o.pop("material")
        o["material"] = o["material_params"]["name"]
    meta = {
        "seed": own_seed, "dataset_seed": int(cfg.seed), "index": int(index), "scene": sc.name, "reality": re.name,
        "num_objects": len(objects), "num_distractors": len(distractors), "occluders": len(occluders),
        "negative": bool(negative), "pose_range": round(frac, 4), "unplaced": unplaced,
        "lighting": lighting, "background": background, "camera": camera, "ground": ground,
        "objects": objects, "distractors": distractors + occluders,
    }
    return meta, geometry


def _draw_unique(rng, weights: dict[str, float], count: int) -> list[str]:
    """``count`` distinct classes (at most all of them), drawn by weight without replacement."""
    left = {k: w for k, w in weights.items() if w > 0}
    drawn = []
    for _ in range(min(count, len(left))):
        drawn.append(choose(rng, left))
        left.pop(drawn[-1])
    return drawn


def grid_layout(rng, classes: list[str], radius: float, gap: float) -> list | None:
    """Objects on a jittered grid (rows of ceil(sqrt(n))), the whole grid turned by a random yaw."""
    if not classes:
        return None
    n = len(classes)
    cols = math.ceil(math.sqrt(n))
    pitch = 2 * radius + gap
    yaw = float(rng.uniform(0, 2 * math.pi))
    c, s = math.cos(yaw), math.sin(yaw)
    out = []
    for k, cls in enumerate(classes):
        x, y = (k % cols - (cols - 1) / 2) * pitch, (k // cols - (math.ceil(n / cols) - 1) / 2) * pitch
        out.append((cls, [c * x - s * y, s * x + c * y], yaw + float(rng.uniform(-0.2, 0.2))))
    return out


def _target_material(rng, cls: str, kind: SceneKind, m, cat: Catalog) -> dict:
    if cls in cat.own_look:
        return own_material(rng, cat.own_look[cls])
    return kind.target_material(rng, cls, m)


def own_material(rng, jitter: dict[str, float]) -> dict:
    """An asset's own look, perturbed within its jitter ranges (no draw for a zero range)."""
    h, s, v, r = (float(jitter[k]) for k in ("hue", "saturation", "value", "roughness"))
    drawn = {"hue": U(rng, (-h, h)), "saturation": U(rng, (1 - s, 1 + s)), "value": U(rng, (1 - v, 1 + v)),
             "roughness": U(rng, (-r, r))}
    return {"name": "own", "own": True, "jitter": {k: round(x, 4) + 0.0 for k, x in drawn.items()}}


def _maybe_image_texture(rng, mat: dict, m, cat: Catalog) -> None:
    """Swap in a photo texture (box-mapped) with probability reality.materials.image_texture_prob."""
    if cat.textures and rng.uniform() < m.image_texture_prob:
        mat["texture"] = {"kind": "image", "name": str(rng.choice(cat.textures)), "color": None,
                          "scale": round(float(rng.uniform(0.5, 3.0)), 3)}
        mat["name"] = mat["name"].split("_")[0] + "_photo" if mat["name"].startswith("worn") else "photo_textured"


def _asset_scale(sc, cls: str):
    for a in sc.assets:
        if a.class_name == cls:
            return a.scale
    return None


def _distractors(rng, sc, re, cat: Catalog, placer: Placer) -> list[dict]:
    d = sc.distractors
    kinds = [k for k in d.kinds if k in cat.distractors]
    out = []
    n = UI(rng, d.count) if kinds else 0
    group = rng.uniform() < d.group_prob
    centre = sample_disc(rng, placer.area) if group else (0.0, 0.0)
    for _ in range(n):
        kind = str(rng.choice(kinds))
        scale = U(rng, d.scale)
        verts = cat.distractors[kind].verts
        flying = rng.uniform() < d.flying_fraction
        rot = [rng.uniform(-math.pi, math.pi), rng.uniform(-math.pi, math.pi), rng.uniform(0, 2 * math.pi)] \
            if flying else [0.0, 0.0, rng.uniform(0, 2 * math.pi)]
        z, foot = resting(verts, rot, scale)
        if flying:
            p = placer.flying(foot, sc.objects.placement.flying_height)
            loc = None if p is None else [p[0], p[1], p[2] + z - foot]
        else:
            p = placer.on_ground(foot, centre, placer.area * (0.4 if group else 1.2))
            loc = None if p is None else [p[0], p[1], z]
        if loc is None:
            continue  # distractors are optional: skip one that does not fit
        mat = generic_material(rng, re.materials)
        _maybe_image_texture(rng, mat, re.materials, cat)
        out.append({"kind": kind, "role": "distractor", "scale": round(scale, 5), "location": _r(loc),
                    "rotation_euler": _r(rot), "material_params": mat})
    return out


def _camera(rng, sc, objects: list[dict]) -> dict:
    c = sc.camera
    centre = np.mean([o["location"] for o in objects], 0) if objects else np.zeros(3)
    look = centre + np.append(sample_disc(rng, c.look_at_jitter), rng.uniform(-0.2, 0.2) * c.look_at_jitter)
    dist, elev, azim = U(rng, c.distance), U(rng, c.elevation_deg), U(rng, c.azimuth_deg)
    if c.azimuth_relative and objects:  # from the first target's side (no extra draw: other streams unchanged)
        azim = (azim + math.degrees(objects[0]["rotation_euler"][2])) % 360.0
    e, a = math.radians(elev), math.radians(azim)
    pos = look + dist * np.array([math.cos(e) * math.cos(a), math.cos(e) * math.sin(a), math.sin(e)])
    camera = {"distance": round(dist, 4), "elevation_deg": round(elev, 3), "azimuth_deg": round(azim, 3),
              "focal_mm": round(U(rng, c.focal_mm), 3), "roll_deg": round(U(rng, c.roll_deg), 3),
              "look_at": _r(look), "location": _r(pos), "sensor_mm": c.sensor_mm}
    if any(c.shift):
        camera["shift"] = [float(x) for x in c.shift]
    return camera


def _occluders(rng, sc, re, cat: Catalog, camera: dict) -> list[dict]:
    o = sc.occluders
    kinds = [k for k in ("slab", "rod", "plate") if k in cat.distractors]
    cam, look = np.asarray(camera["location"]), np.asarray(camera["look_at"])
    view = look - cam
    half = camera["distance"] * camera["sensor_mm"] / (2 * camera["focal_mm"])
    right = np.cross(view, [0, 0, 1.0])
    right /= np.linalg.norm(right) + 1e-9
    up = np.cross(right, view / np.linalg.norm(view))
    out = []
    for _ in range(UI(rng, o.count)):
        t = rng.uniform(0.45, 0.7)
        p = cam + t * view + (right * rng.uniform(-0.5, 0.5) + up * rng.uniform(-0.5, 0.5)) * half * t
        rot = [rng.uniform(-math.pi, math.pi), rng.uniform(-math.pi, math.pi), rng.uniform(0, 2 * math.pi)]
        kind = str(rng.choice(kinds))
        extent = float(np.ptp(cat.distractors[kind].verts, axis=0).max())  # occluder size is relative to the view
        out.append({"kind": kind, "role": "occluder", "scale": round(U(rng, o.scale) * half * t / extent, 5),
                    "location": _r(p), "rotation_euler": _r(rot),
                    "material_params": generic_material(rng, re.materials)})
    return out


def _lighting(rng, sc, re, cat: Catalog, camera: dict) -> dict:
    lm = re.lighting
    ambient = U(rng, lm.ambient)
    if cat.hdris and rng.uniform() < lm.hdri_prob:
        strength = U(rng, lm.hdri_strength)
        return {"kind": "hdri", "num_lights": 0, "hdri": str(rng.choice(cat.hdris)), "energy": round(strength, 4),
                "color_temperature_k": None, "rotation_deg": round(rng.uniform(0, 360), 2), "lights": [],
                "ambient": 0.0}
    lc = sc.lights
    look = np.asarray(camera["look_at"])
    lights = []
    for _ in range(UI(rng, lc.count)):
        typ = str(rng.choice([t for t in lc.types if t in LIGHT_TYPES]))
        temp = U(rng, lc.color_temperature_k)
        az, el, dist = rng.uniform(0, 2 * math.pi), math.radians(U(rng, lc.elevation_deg)), U(rng, lc.distance)
        pos = look + dist * np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
        energy = U(rng, lc.sun_strength) if typ == "SUN" else U(rng, lc.point_energy_w)
        lights.append({"type": typ, "energy": round(energy, 4), "color_temperature_k": round(temp, 1),
                       "color": _r(kelvin_to_rgb(temp)), "location": _r(pos), "target": _r(look),
                       "size": round(rng.uniform(0.2, 1.5) * dist / 5, 4),
                       "spot_deg": round(rng.uniform(30, 80), 2)})
    n = len(lights)
    norm = math.sqrt(2.0 / n) if n > 2 else 1.0  # many lamps share the light budget (no blow-out)
    for light in lights:
        light["energy"] = round(light["energy"] * norm, 4)
    return {"kind": "lights", "num_lights": n, "hdri": None,
            "energy": round(float(np.mean([l["energy"] for l in lights])), 4),
            "color_temperature_k": round(float(np.mean([l["color_temperature_k"] for l in lights])), 1),
            "lights": lights, "ambient": round(ambient, 4), "ambient_color": hsv(rng, (0, 0.2), (0.6, 1.0))}


def _background(rng, re, cat: Catalog, lighting: dict) -> dict:
    allowed = {"procedural", "plain"} | ({"hdri"} if cat.hdris else set()) | ({"photo"} if cat.photos else set())
    kind = choose(rng, re.background.weights, allowed)
    if kind == "hdri":
        name = lighting["hdri"] or str(rng.choice(cat.hdris))
        return {"kind": "hdri", "name": name, "rotation_deg": lighting.get("rotation_deg", round(rng.uniform(0, 360), 2)),
                "strength": lighting["energy"] if lighting["kind"] == "hdri" else round(rng.uniform(0.5, 1.5), 3)}
    if kind == "photo":
        return {"kind": "photo", "name": str(rng.choice(cat.photos))}
    if kind == "plain":
        c = hsv(rng, (0.0, 0.6), (0.05, 0.9))
        return {"kind": "plain", "name": "plain", "color": c}
    pattern = str(rng.choice(PROCEDURAL_PATTERNS))
    return {"kind": "procedural", "name": pattern, "color": hsv(rng), "color2": hsv(rng),
            "scale": round(rng.uniform(1, 10), 3), "strength": round(rng.uniform(0.5, 1.5), 3)}


def _ground(rng, sc, re, cat: Catalog) -> dict:
    g = sc.ground
    visible = bool(rng.uniform() < g.visible_prob)
    options = [m for m in g.materials if m not in re.materials.ground_exclude] or list(g.materials)
    material = str(rng.choice(options))
    sat = tuple(re.materials.ground_saturation)
    ground = {"visible": visible, "material": material, "color": hsv(rng, sat, (0.15, 0.8)),
              "color2": hsv(rng, sat, (0.15, 0.8)),
              "scale": round(rng.uniform(0.5, 2.0) * g.texture_scale, 4), "rotation_deg": round(rng.uniform(0, 90), 2)}
    prob = re.materials.ground_image_prob
    if prob > 0 and cat.textures and rng.uniform() < prob:  # no draw at 0: other scenes' streams unchanged
        ground["image"] = {"name": str(rng.choice(cat.textures)), "tile": round(rng.uniform(0.2, 1.0), 4),
                           "mix": round(rng.uniform(0.6, 1.0), 4)}
    return ground
