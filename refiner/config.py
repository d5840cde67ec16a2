"""Schema of ``sim2real/conf/refine.yaml`` (sim2real-refine) and of every ``sim2real/conf/refiner/*`` option.

Each refiner option (``sim2real/conf/refiner/<name>.yaml``) starts its defaults with ``<name>_schema``
(stored in the ``refiner`` group below), so a wrong key or type under ``refiner.`` fails at
composition, naming the key. Network sizes come from ``preset`` (``small`` for the CPU
pipeline, ``paper`` for the published sizes); any explicit ``net.*`` value wins over it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from sim2real.config.common import LoggerConfig, TrainerConfig


# choices: a misspelt one fails when the config is composed, listing these
class GanMode(StrEnum):
    lsgan = "lsgan"
    hinge = "hinge"
    vanilla = "vanilla"


@dataclass
class RefineDataConfig:
    sim: str = "data/sim"
    real: str = "data/real"
    crop: int = 64  # training crop side; application is fully convolutional at full size
    batch_size: int = 1
    num_workers: int = 0
    max_real: Optional[int] = None  # cap on real images read into memory (None: all)
    match_scale: bool = True  # resize real photos so their shorter side matches the sim images
    grayscale: bool = False  # read sim and real as grey (3 equal channels): for greyscale photos


@dataclass
class RegionLoss:
    """Weights of one image region (foreground = sim instance masks, background = the rest)."""

    adv: float = 1.0  # adversarial term on refined patches of this region
    reg: float = 0.0  # self-regularisation L1 to the sim input on this region's pixels


@dataclass
class LossConfig:
    fg: RegionLoss = field(default_factory=lambda: RegionLoss(adv=1.0, reg=0.5))
    bg: RegionLoss = field(default_factory=lambda: RegionLoss(adv=1.0, reg=1.0))
    label: float = 1.0  # label consistency through the frozen task network (0 = off)
    # model specific (ignored where a model has no such term)
    cycle: float = 10.0  # cyclegan
    identity: float = 0.0  # cyclegan (relative to cycle, as in the paper's lambda_identity)
    nce: float = 1.0  # cut / fastcut
    nce_idt: bool = True  # cut: PatchNCE on the real side too (identity); fastcut: false


@dataclass
class NetConfig:
    """Explicit sizes; ``None`` takes the preset's value (each model's presets, next to it in refiner/models/)."""

    ngf: Optional[int] = None  # generator width
    n_blocks: Optional[int] = None  # generator ResNet blocks
    n_down: Optional[int] = None  # generator downsamplings (0 = SimGAN style, no striding)
    ndf: Optional[int] = None  # discriminator width
    n_layers_d: Optional[int] = None  # PatchGAN depth (receptive field 16/34/70 for 1/2/3)
    norm: Optional[str] = None  # instance | batch | none
    residual: bool = True  # generator predicts a change added to its input (starts as identity)


@dataclass
class DiffAugConfig:
    """DiffAugment (Zhao et al. 2020) on kornia, applied to every image the discriminator sees."""

    enabled: bool = True
    policy: list[str] = field(default_factory=lambda: ["color", "translation", "cutout"])


@dataclass
class OptimConfig:
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    decay_start: float = 0.5  # fraction of max_steps after which lr decays linearly to 0 (1 = never)


@dataclass
class TaskNetConfig:
    """The small frozen foreground segmenter behind label consistency and label preservation."""

    enabled: bool = True
    width: int = 8
    steps: int = 150
    lr: float = 3e-3
    batch_size: int = 4
    crop: int = 96  # context matters: large flat objects need it
    photometric_aug: bool = True  # so the score measures geometry rather than style


@dataclass
class C2STConfig:
    """Classifier two-sample test settings (refiner/metrics.py)."""

    size: int = 64  # images are resized (shorter side) and centre-cropped to size x size
    steps: int = 150  # classifier optimisation steps per fold (batch 32)
    width: int = 16
    folds: int = 2
    max_images: int = 400


@dataclass
class MetricsConfig:
    c2st: C2STConfig = field(default_factory=C2STConfig)
    kid_weights: Optional[str] = None  # local Inception (pt_inception FID) weights file; KID only then


@dataclass
class RefinerConfig:
    name: str = MISSING
    preset: str = "small"  # small | paper
    net: NetConfig = field(default_factory=NetConfig)
    gan_mode: GanMode = GanMode.lsgan
    spectral_norm: bool = False
    r1_gamma: float = 0.0  # R1 penalty weight on real images (0 = off)
    r1_every: int = 4  # lazy R1: every N discriminator steps, scaled by N
    diffaug: DiffAugConfig = field(default_factory=DiffAugConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    task_net: TaskNetConfig = field(default_factory=TaskNetConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    pool_size: int = 50  # image pool / history buffer of refined images for the discriminator
    max_loss: float = 1e4  # a loss above this (or NaN) stops training: "exploding"
    checkpoint_every_n_steps: int = 200
    apply_batch_size: int = 8


@dataclass
class SimGANConfig(RefinerConfig):
    name: str = "simgan"
    reg_space: str = "pixel"  # pixel | feature (mean-pooled colour, Shrivastava sec. 3.1)
    pretrain_g_steps: int = 50
    pretrain_d_steps: int = 20
    history_fraction: float = 0.5  # share of each discriminator fake batch drawn from history
    pool_size: int = 256  # the history buffer (Shrivastava et al. keep a large one)


def _translation_loss(**kw) -> LossConfig:
    """Translation models (CycleGAN, CUT, FastCUT) change the objects' look freely; the
    background is held to the render more (self-regularisation 0.5)."""
    return LossConfig(fg=RegionLoss(adv=1.0, reg=0.0), bg=RegionLoss(adv=1.0, reg=0.5), **kw)


@dataclass
class CycleGANConfig(RefinerConfig):
    name: str = "cyclegan"
    loss: LossConfig = field(default_factory=_translation_loss)


@dataclass
class CUTConfig(RefinerConfig):
    name: str = "cut"
    nce_layers: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4])  # generator taps: 0 = input, k = after stage k
    num_patches: int = 128
    nce_t: float = 0.07
    flip_equivariance: bool = False
    loss: LossConfig = field(default_factory=_translation_loss)


@dataclass
class FastCUTConfig(CUTConfig):
    name: str = "fastcut"
    flip_equivariance: bool = True
    loss: LossConfig = field(default_factory=lambda: _translation_loss(nce=10.0, nce_idt=False))


@dataclass
class CameraConfig(RefinerConfig):
    name: str = "camera"
    init_spread: float = 0.05  # initial per-image spread of every camera parameter
    blur_radius: int = 3  # Gaussian kernel is 2r+1 pixels wide
    stats: float = 1.0  # weight of matching real image statistics (sim2real/learned_camera.py)
    # translation and cutout hide camera statistics from the discriminator (docs/refiner.md)
    diffaug: DiffAugConfig = field(default_factory=lambda: DiffAugConfig(enabled=False))
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr_g=1e-2))  # 20 scalars, not a network
    # geometry cannot change, so no label or self-regularisation term is needed
    loss: LossConfig = field(default_factory=lambda: LossConfig(
        fg=RegionLoss(adv=1.0, reg=0.0), bg=RegionLoss(adv=1.0, reg=0.0), label=0.0))


@dataclass
class ObjectiveConfig:
    """What a hyper-parameter search maximises (``hparams_search=fgbg_optuna``): a quick
    detector trained on the refined set, scored on ``val``, a labelled real validation set."""

    enabled: bool = False
    # (cfg, refined_dir) -> float, by import path: the default trains a detector, so it lives
    # on the top floor (pipeline/objective.py), which the refiner does not import
    function: str = "pipeline.objective.refined_val_map"
    val: Optional[str] = None
    metric: str = "map50"
    train_overrides: list[str] = field(default_factory=lambda: ["trainer.max_epochs=4"])


@dataclass
class RefineConfig:
    refiner: Any = MISSING
    data: RefineDataConfig = field(default_factory=RefineDataConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    out_dir: str = "data/refined"
    work_dir: Optional[str] = None  # checkpoints, task net, metrics.json; default <out_dir>_refiner
    ckpt_path: Optional[str] = None  # a .ckpt path, or "last" (<work_dir>/checkpoints/last.ckpt)
    seed: int = 0
    overwrite: bool = False
    train: bool = True  # false: only apply (needs ckpt_path)
    evaluate: bool = True  # c2st + label preservation after applying
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)


REFINER_SCHEMAS: dict[str, type] = {
    "simgan": SimGANConfig,
    "cyclegan": CycleGANConfig,
    "cut": CUTConfig,
    "fastcut": FastCUTConfig,
    "camera": CameraConfig,
}


def _store_schemas() -> None:
    cs = ConfigStore.instance()
    cs.store(name="refine_schema", node=RefineConfig)
    for name, node in REFINER_SCHEMAS.items():
        cs.store(group="refiner", name=f"{name}_schema", node=node)


_store_schemas()
