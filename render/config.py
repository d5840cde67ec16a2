"""Schema of ``sim2real/conf/render.yaml`` (sim2real-render) and its groups ``scene/`` and ``reality/``.

Every randomisation range is a key here, so a typo or a wrong type fails at composition,
naming the key, before Blender starts. Ranges are ``[low, high]`` lists sampled uniformly.
``scene`` says *what* is in the picture (objects, placement, camera, lights); ``reality``
says *how* the picture is formed (engine settings, material style, lighting and background
mix, the post-render camera model).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Optional

from hydra.core.config_store import ConfigStore

from sim2real.config.common import LoggerConfig


# ----------------------------------------------------------------------------- scene
# choices: a misspelt one fails when the config is composed, listing these
class AssetMaterial(StrEnum):
    own = "own"
    random = "random"


class PoseMode(StrEnum):
    upright = "upright"
    tilted = "tilted"
    random = "random"


class PlacementMode(StrEnum):
    ground = "ground"
    flying = "flying"
    rows = "rows"


@dataclass
class JitterConfig:
    """Per-image perturbation of an asset's own look; 0 everywhere keeps it exactly."""

    hue: float = 0.0  # hue shift in [-hue, hue] on Blender's 0..1 hue circle (at most 0.5)
    saturation: float = 0.0  # saturation multiplier in [1 - x, 1 + x] (x at most 1)
    value: float = 0.0  # brightness multiplier in [1 - x, 1 + x] (x at most 1)
    roughness: float = 0.0  # roughness offset in [-x, x], clamped to [0, 1]


@dataclass
class AssetConfig:
    """A user mesh as a target class: .obj .ply .stl .glb .gltf .fbx or .blend."""

    path: str = ""
    class_name: str = ""
    scale: list[float] = field(default_factory=lambda: [1.0, 1.0])
    normalize: bool = True  # rescale so the largest dimension is 1 before ``scale``
    # Multiplies the file's coordinates first (0.001: millimetres to metres); no effect
    # with normalize=true, which rescales to a largest dimension of 1 anyway.
    unit_scale: float = 1.0
    # own: keep the asset's materials, image textures, vertex colours (an asset with none
    # gets random materials); random: a random generic material per image, as built-ins.
    material: AssetMaterial = AssetMaterial.own
    jitter: JitterConfig = field(default_factory=JitterConfig)  # only with material=own


@dataclass
class CurriculumConfig:
    """Pose ranges widen linearly from ``start`` (fraction of the full range) over the dataset."""

    enabled: bool = False
    start: float = 0.2


@dataclass
class PoseConfig:
    mode: PoseMode = PoseMode.upright  # upright (yaw only) | tilted | random (any rotation)
    tilt_deg: float = 25.0  # max tilt for mode=tilted
    curriculum: CurriculumConfig = field(default_factory=CurriculumConfig)


@dataclass
class PlacementConfig:
    mode: PlacementMode = PlacementMode.ground  # ground (collision free) | flying | rows
    area_radius: float = 2.5  # objects' centres lie in this disc (scene units)
    min_gap: float = 0.05
    max_attempts: int = 200
    flying_height: list[float] = field(default_factory=lambda: [0.5, 2.0])


@dataclass
class ObjectsConfig:
    count: list[int] = field(default_factory=lambda: [1, 6])
    class_weights: dict[str, float] = field(default_factory=dict)  # empty: uniform
    scale: list[float] = field(default_factory=lambda: [0.6, 1.4])
    pose: PoseConfig = field(default_factory=PoseConfig)
    placement: PlacementConfig = field(default_factory=PlacementConfig)
    negative_fraction: float = 0.0  # images with distractors but no target
    unique: bool = False  # each class at most once per image (count is capped at the number of classes)


@dataclass
class DistractorsConfig:
    count: list[int] = field(default_factory=lambda: [0, 3])
    kinds: list[str] = field(default_factory=lambda: ["blob", "slab", "rod", "ring"])
    scale: list[float] = field(default_factory=lambda: [0.3, 1.0])
    flying_fraction: float = 0.3  # distractors floating in the air, random pose
    group_prob: float = 0.0  # chance distractors cluster around one spot


@dataclass
class OccludersConfig:
    """Thin shapes between camera and targets that hide part of them."""

    prob: float = 0.3
    count: list[int] = field(default_factory=lambda: [1, 2])
    scale: list[float] = field(default_factory=lambda: [0.3, 0.8])


@dataclass
class LightsConfig:
    count: list[int] = field(default_factory=lambda: [1, 12])
    types: list[str] = field(default_factory=lambda: ["POINT", "SUN", "AREA", "SPOT"])
    color_temperature_k: list[float] = field(default_factory=lambda: [2700.0, 9000.0])
    point_energy_w: list[float] = field(default_factory=lambda: [100.0, 1500.0])
    sun_strength: list[float] = field(default_factory=lambda: [1.0, 5.0])
    distance: list[float] = field(default_factory=lambda: [3.0, 8.0])
    elevation_deg: list[float] = field(default_factory=lambda: [20.0, 85.0])


@dataclass
class CameraConfig:
    distance: list[float] = field(default_factory=lambda: [6.0, 10.0])
    elevation_deg: list[float] = field(default_factory=lambda: [15.0, 70.0])
    azimuth_deg: list[float] = field(default_factory=lambda: [0.0, 360.0])
    # true: azimuth_deg is measured from the first target's yaw, not from world x, so photos come
    # from a preferred side of the objects (cards seen upright, a product from its front)
    azimuth_relative: bool = False
    focal_mm: list[float] = field(default_factory=lambda: [35.0, 60.0])
    roll_deg: list[float] = field(default_factory=lambda: [-10.0, 10.0])
    look_at_jitter: float = 0.5
    sensor_mm: float = 36.0
    clip_end: float = 200.0
    # A JSON file with fx, cx, cy, width, height in pixels (BOP's camera.json): fixes
    # focal_mm, shift and (unless ``aspect`` is set) the frame's aspect ratio (render/frame.py).
    intrinsics: Optional[str] = None
    shift: list[float] = field(default_factory=lambda: [0.0, 0.0])  # Blender lens shift (x, y)


@dataclass
class GroundConfig:
    visible_prob: float = 0.8
    size: float = 60.0
    materials: list[str] = field(default_factory=lambda: ["plain", "checker", "concrete", "tiles"])
    texture_scale: float = 1.0  # >1: finer pattern (small scenes such as drink containers)


@dataclass
class ContainersConfig:
    """``scene=containers``: how targets are grouped."""

    arrangement_weights: dict[str, float] = field(
        default_factory=lambda: {"alone": 0.4, "row": 0.4, "stack": 0.2})


@dataclass
class DrinksConfig:
    """``scene=drink_containers``: deformation of cans and bottles."""

    dent_prob: float = 0.4
    crush_prob: float = 0.2
    lying_prob: float = 0.3


@dataclass
class CardsConfig:
    """``scene=cards``: how playing cards lie, bend and shine (render/scenes/cards.py)."""

    arrangement_weights: dict[str, float] = field(
        default_factory=lambda: {"scatter": 0.35, "row": 0.2, "fan": 0.3, "pile": 0.15})
    fan_spread_deg: list[float] = field(default_factory=lambda: [10.0, 20.0])  # turn between fanned cards
    row_offset_mm: list[float] = field(default_factory=lambda: [14.0, 32.0])  # shift between cards in a row
    bend_prob: float = 0.4  # cards nothing lies on: slight cylindrical bend
    bend_mm: list[float] = field(default_factory=lambda: [0.3, 2.5])  # rise of the bent ends
    tilt_prob: float = 0.3  # cards lying on others: slight tilt
    tilt_deg: list[float] = field(default_factory=lambda: [1.0, 4.0])
    roughness: list[float] = field(default_factory=lambda: [0.2, 0.5])  # laminated face
    coat: list[float] = field(default_factory=lambda: [0.0, 0.6])  # clear-coat weight (glare)
    ink_jitter: float = 0.05  # ink/paper saturation and value in [1 - x, 1 + x], hue +-x/10
    decks: list[str] = field(default_factory=lambda: ["classic_red", "classic_blue", "bold", "slim"])


@dataclass
class SceneConfig:
    name: str = "primitives"
    classes: list[str] = field(default_factory=lambda: ["cube", "sphere", "cylinder", "cone", "torus"])
    include_builtin: bool = True  # false: only the user assets are targets
    objects: ObjectsConfig = field(default_factory=ObjectsConfig)
    distractors: DistractorsConfig = field(default_factory=DistractorsConfig)
    occluders: OccludersConfig = field(default_factory=OccludersConfig)
    lights: LightsConfig = field(default_factory=LightsConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    ground: GroundConfig = field(default_factory=GroundConfig)
    assets: list[AssetConfig] = field(default_factory=list)
    # relative asset paths and camera.intrinsics resolve against this folder (e.g. a BOP dataset)
    root: Optional[str] = None
    containers: ContainersConfig = field(default_factory=ContainersConfig)
    drinks: DrinksConfig = field(default_factory=DrinksConfig)
    cards: CardsConfig = field(default_factory=CardsConfig)


# ----------------------------------------------------------------------------- reality
@dataclass
class LightingMixConfig:
    hdri_prob: float = 0.3  # else 1-12 lamps (scene.lights)
    hdri_strength: list[float] = field(default_factory=lambda: [0.6, 1.6])
    ambient: list[float] = field(default_factory=lambda: [0.05, 0.3])  # world fill under lamps


@dataclass
class BackgroundConfig:
    weights: dict[str, float] = field(
        default_factory=lambda: {"procedural": 0.5, "plain": 0.3, "hdri": 0.2, "photo": 0.0})
    hdri_dir: Optional[str] = None  # extra .exr/.hdr panoramas (default: bpy's studiolights)
    photo_dir: Optional[str] = None  # folder of photos shown behind the scene


@dataclass
class MaterialsConfig:
    texture_prob: float = 0.3  # procedural pattern on an object
    image_texture_prob: float = 0.0  # a photo texture instead (panoramas + texture_dir, box-mapped)
    texture_dir: Optional[str] = None  # extra texture images
    metallic_prob: float = 0.3
    roughness: list[float] = field(default_factory=lambda: [0.2, 0.8])
    wear: list[float] = field(default_factory=lambda: [0.0, 0.0])  # dirt/scratch mix
    bump: list[float] = field(default_factory=lambda: [0.0, 0.0])  # surface irregularity
    dent_prob: float = 0.0  # geometric dents on targets
    dent_depth: list[float] = field(default_factory=lambda: [0.03, 0.1])  # fraction of size
    ground_textured: bool = False  # proxy_real: richer, bumpier ground shaders
    ground_exclude: list[str] = field(default_factory=list)  # drop these from scene.ground.materials
    ground_saturation: list[float] = field(default_factory=lambda: [0.0, 0.6])
    # share of grounds showing a photo texture (the texture pool: bpy's panoramas + texture_dir)
    # over their pattern: the clutter of real backgrounds, which procedural grounds lack
    ground_image_prob: float = 0.0


@dataclass
class CameraModelConfig:
    """Post-render camera (numpy, render/proxy_camera.py); disabled for ``sim``."""

    enabled: bool = False
    exposure_ev: list[float] = field(default_factory=lambda: [-0.3, 0.3])
    white_balance_k: list[float] = field(default_factory=lambda: [4800.0, 9000.0])
    vignetting: list[float] = field(default_factory=lambda: [0.15, 0.45])
    defocus_sigma_px: list[float] = field(default_factory=lambda: [0.0, 0.9])
    motion_blur_px: list[float] = field(default_factory=lambda: [0.0, 2.0])
    shot_noise: list[float] = field(default_factory=lambda: [0.001, 0.006])
    read_noise: list[float] = field(default_factory=lambda: [0.001, 0.006])
    tone_contrast: list[float] = field(default_factory=lambda: [1.05, 1.35])
    saturation: list[float] = field(default_factory=lambda: [0.8, 1.15])
    jpeg_quality: list[int] = field(default_factory=lambda: [55, 90])


@dataclass
class RealityConfig:
    name: str = "sim"
    samples: int = 8
    denoise: bool = True
    denoise_prefilter: str = "FAST"  # NONE | FAST | ACCURATE
    max_bounces: int = 2
    view_transform: str = "standard"  # standard (sRGB) | filmic (soft highlight roll-off)
    # World importance map resolution (0: off). Building it costs ~1 CPU-s per image at 1024.
    world_map_resolution: int = 0
    lighting: LightingMixConfig = field(default_factory=LightingMixConfig)
    background: BackgroundConfig = field(default_factory=BackgroundConfig)
    materials: MaterialsConfig = field(default_factory=MaterialsConfig)
    camera_model: CameraModelConfig = field(default_factory=CameraModelConfig)


# ----------------------------------------------------------------------------- stage
@dataclass
class ShardConfig:
    index: int = 0
    count: int = 1


# the scene keys ``fit.params`` may name (render/fit.py says how each one is searched)
FIT_PARAMS = ("camera.distance", "camera.elevation_deg", "camera.azimuth_deg", "camera.focal_mm",
              "camera.look_at_jitter", "objects.count", "objects.pose", "objects.placement.area_radius")


@dataclass
class FitConfig:
    """Fit the scene's layout to labelled photos before rendering (render/fit.py, docs/render.md).

    An Optuna search over ``params`` minimises the distance between the photos' label
    statistics (box size, aspect, objects per image, centres, truncation; sim2real/label_stats.py)
    and those of ``images`` sampled scenes, projected without rendering.
    """

    enabled: bool = False  # sim2real-render: fit, then render the fitted scene (sim2real-fit: fit only)
    real: Optional[str] = None  # labelled photos, any layout the readers know (never the test split)
    split: Optional[str] = None  # which split of ``real``, for sources holding several
    # the keys measured with detectors on the real sets (docs/benchmarks.md "Scene fit");
    # camera.azimuth_deg and camera.focal_mm on request
    params: list[str] = field(default_factory=lambda: [
        "camera.distance", "camera.elevation_deg", "camera.look_at_jitter", "objects.count", "objects.pose",
        "objects.placement.area_radius"])
    trials: int = 100
    images: int = 150  # scenes sampled per trial (the same indices in every trial)
    seed: int = 0
    # no statistic's term of the loss may end more than this above its start value (null: no guard);
    # unguarded fits bought a closer count with worse box sizes and lost mAP on lmo; 0 is too strict
    # to be the default: sampling noise in one term can block a fit that is right (docs/render.md)
    max_worsen: Optional[float] = None
    out_dir: Optional[str] = None  # fitted scene YAML and fit.json (null: sim2real-fit: out_dir; render: <out_dir>/fit)


@dataclass
class RenderConfig:
    scene: SceneConfig = field(default_factory=SceneConfig)
    reality: RealityConfig = field(default_factory=RealityConfig)
    num_images: int = 16
    resolution: int = 128  # the frame's longer side in pixels
    aspect: Optional[float] = None  # width / height (null: from scene.camera.intrinsics, else 1)
    seed: int = 0
    out_dir: str = "data/render"
    name: Optional[str] = None
    workers: int = 1  # render processes (0: in this process, for debugging)
    threads: int = 0  # Cycles threads per worker; 0: cores // workers
    recycle_every: int = 200  # restart a worker after this many images (bounds memory)
    watchdog_s: float = 300.0  # a worker silent this long is killed and its image retried
    save_depth: bool = True
    min_visible_px: int = 4  # smaller instances get no annotation
    shard: ShardConfig = field(default_factory=ShardConfig)
    fit: FitConfig = field(default_factory=FitConfig)
    overwrite: bool = False
    progress: bool = True
    logger: LoggerConfig = field(default_factory=LoggerConfig)


ConfigStore.instance().store(name="render_schema", node=RenderConfig)
