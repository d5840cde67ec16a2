"""Schema of ``sim2real/conf/train.yaml`` (sim2real-train) and its groups ``detector/`` and ``slices/``."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from sim2real.config.common import LoggerConfig, TrainerConfig


# choices: a misspelt one fails when the config is composed, listing these
class LrSchedule(StrEnum):
    cosine = "cosine"
    constant = "constant"


class Schedule(StrEnum):
    merged = "merged"
    finetune = "finetune"


@dataclass
class DetectorConfig:
    """One detector of ``train.detectors`` (train/registry.py) and how it is optimised."""

    name: str = "fcos_tiny"
    image_size: Optional[int] = None  # null: the largest side of the training images
    # a local state-dict file, or a torchvision weights name (DEFAULT, COCO_V1, IMAGENET1K_V1, ...)
    # read from the torch hub cache ($TORCH_HOME/hub/checkpoints; train/weights.py)
    weights: Optional[str] = None  # the whole detector (heads for another class count start fresh)
    weights_backbone: Optional[str] = None  # the backbone body
    download: bool = False  # fetch a named weights file missing from the cache (else an error naming it)
    anchor_sizes: Optional[list[list[int]]] = None  # null: spread over the training boxes' sizes
    kwargs: dict[str, Any] = field(default_factory=dict)  # more keywords for the builder
    optimizer: dict[str, Any] = field(
        default_factory=lambda: {"_target_": "torch.optim.AdamW", "lr": 3e-3, "weight_decay": 1e-4})
    # linear lr warmup (capped at a quarter of the steps); at 20 steps fcos_tiny from scratch on 90
    # lmo photos collapsed to no detection for one seed in three (docs/benchmarks.md, warmup)
    warmup_steps: int = 100
    lr_schedule: LrSchedule = LrSchedule.cosine
    score_threshold: float = 0.3  # for drawn predictions only; metrics use every score


@dataclass
class AugmentConfig:
    """Label-aware kornia augmentation of training images (boxes and masks move too)."""

    enabled: bool = True
    hflip: float = 0.5
    vflip: float = 0.0
    affine: float = 0.3  # probability of a random affine
    degrees: float = 0.0
    translate: float = 0.1
    scale: list[float] = field(default_factory=lambda: [0.75, 1.25])
    color: float = 0.8  # probability of each colour change below (0 turns them off)
    brightness: float = 0.3
    contrast: float = 0.3
    saturation: float = 0.0  # kornia's saturation/hue go through HSV: slow on a CPU, off by default
    hue: float = 0.0
    blur: float = 0.0
    noise: float = 0.3
    min_box_size: float = 2.0  # pixels: boxes narrower after the transform are dropped
    min_visibility: float = 0.3  # boxes keeping less of their area inside the image are dropped
    # a camera refiner's checkpoint: renders (not photos) are seen through a fresh draw of its learned
    # camera, with probability camera_p, each time they are read (train/camera_augment.py)
    camera: Optional[str] = None
    camera_p: float = 1.0


@dataclass
class TrainDataConfig:
    """Where training and test data come from.

    ``train``: one dataset path or a list (sim, refined, or real COCO/VOC/YOLO); ``weights``:
    per-source sampling weights. ``real_train`` + ``real_fraction``: merge that fraction of a
    labelled real split. ``test``: labelled real set; ``class_map`` maps its names onto the
    scene classes.
    """

    train: Any = field(default_factory=lambda: ["data/sim"])
    weights: Optional[list[float]] = None
    real_train: Optional[str] = None
    real_fraction: float = 0.0
    test: Optional[str] = None
    extra_test: Any = None  # {prefix: path}: more labelled sets scored as <prefix>/map50 (no slices/plots)
    # null (not {}) so that a plain ``data.class_map={a: b}`` override replaces it in struct mode
    class_map: Any = None  # {label in the data: scene class}
    # labels that map onto no class and are dropped (counted); any other such label is an error
    ignore_labels: list[str] = field(default_factory=list)
    classes: Optional[list[str]] = None  # null: the first training source's classes
    val_fraction: float = 0.1
    batch_size: int = 8
    # Samples per epoch, at least: a smaller training set is drawn with replacement up to this
    # size, so mixes of different sizes get the same number of steps (null: one pass).
    epoch_size: Optional[int] = None
    eval_batch_size: int = 16
    num_workers: int = 0
    augment: AugmentConfig = field(default_factory=AugmentConfig)


@dataclass
class SliceDef:
    """One way of slicing the test set.

    ``key``: a dotted path into the image ``meta`` (``background.kind``, ``num_objects``) or a
    box attribute: ``box.size`` (sqrt of the box area), ``box.class``, ``box.occlusion`` or
    ``box.<annotation field>``. ``bins``: numeric edges (values become ``[lo, hi)`` bins);
    ``labels`` name the bins. ``relative``: box sizes as a fraction of the image side.
    """

    key: str = "class"
    bins: Optional[list[float]] = None
    labels: Optional[list[str]] = None
    relative: bool = False
    min: Optional[float] = None  # threshold for every value of this slice (slices.assert)


def _keyword_field_dataclass(cls: type, extra: dict[str, tuple[type, Any]]) -> type:
    """A dataclass with fields named like Python keywords (``slices.assert`` in config)."""
    for name, (typ, default) in extra.items():
        cls.__annotations__[name] = typ
        setattr(cls, name, default)
    return dataclass(init=False, repr=False, eq=False)(cls)


class SlicesConfig:
    """Per-slice metrics; with ``assert: true`` the run fails when a slice falls short."""

    __annotations__ = {
        "enabled": bool,
        "metric": str,
        "min_boxes": int,
        "default_min": Optional[float],
        "thresholds": Any,
        "definitions": dict[str, SliceDef],
    }
    enabled = True
    metric = "map50"  # map50 | map | map75 | mar_100
    min_boxes = 5  # slices with fewer true boxes are reported, never asserted
    default_min = None
    # {slice: minimum} or {slice: {value: minimum}}, e.g. {background: 0.5, size: {small: 0.2}}
    thresholds = None
    definitions = field(default_factory=dict)

    def __init__(self) -> None:  # dataclass(init=False): an ``assert`` parameter is not Python
        self.thresholds, self.definitions = None, {}


SlicesConfig = _keyword_field_dataclass(SlicesConfig, {"assert": (bool, False)})


@dataclass
class FinetuneConfig:
    """``schedule=finetune``: after the synthetic run, this many epochs on the real split.

    The defaults are the rule measured best on real photos (docs/benchmarks.md, "The fine-tuning
    rule"): 30 % renders kept in each batch, two cycles of 6 epochs at half the learning rate."""

    max_epochs: int = 6  # per cycle
    lr_scale: float = 0.5
    synthetic_share: float = 0.3  # share of each fine-tuning batch still drawn from data.train (0: real only)
    # cycles of max_epochs each, the warmup and cosine restarted from lr x lr_scale every time (warm
    # restarts, SGDR); a cycle starts from the previous one's best checkpoint (phases finetune, finetune2, ...)
    cycles: int = 2


@dataclass
class PseudoConfig:
    """Self-training on unlabelled real photos (train/pseudo.py): after the other stages the
    detector labels ``source``, and ``rounds`` more stages train on its confident boxes too."""

    source: Optional[str] = None  # unlabelled photos (any layout; labels ignored); null: off
    threshold: float = 0.5  # detections at or above this score become labels
    share: float = 0.5  # share of each batch drawn from the pseudo-labelled photos
    rounds: int = 1
    max_epochs: int = 6
    lr_scale: float = 0.5


@dataclass
class AlignConfig:
    """Domain-adversarial feature alignment (train/align.py): in the phases on renders without real
    labels (``synthetic``, ``merged``), a domain classifier on the FPN features, behind a gradient
    reversal, learns to tell the renders from unlabelled photos, and the backbone learns not to let it."""

    source: Optional[str] = None  # unlabelled real photos (any layout; labels ignored); null: off
    weight: float = 0.1  # the domain loss's weight beside the detection losses
    batch_size: Optional[int] = None  # photos per step (null: data.batch_size)


@dataclass
class EarlyStoppingConfig:
    monitor: str = "val/map50"
    patience: Optional[int] = 5  # null: no early stopping
    min_delta: float = 0.0


@dataclass
class TrainConfig:
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    data: TrainDataConfig = field(default_factory=TrainDataConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    slices: SlicesConfig = field(default_factory=SlicesConfig)
    schedule: Schedule = Schedule.merged
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    pseudo: PseudoConfig = field(default_factory=PseudoConfig)
    align: AlignConfig = field(default_factory=AlignConfig)
    # schedule=finetune: a checkpoint of a detector already trained on data.train; the synthetic
    # stage is skipped and the real stage starts from it (the pipeline shares one pretraining)
    init: Optional[str] = None
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)
    out_dir: str = "runs/detector"
    ckpt_path: Optional[str] = None  # "last" resumes from out_dir/checkpoints
    overwrite: bool = False  # replace the results of another config in out_dir (else refused)
    seed: int = 0
    num_threads: Optional[int] = None  # torch threads per process (null: torch's default)
    plots: bool = True
    num_plot_images: int = 16


@dataclass
class PredictConfig:
    """``sim2real-predict`` (sim2real/conf/predict.yaml, train/predict.py)."""

    ckpt: str = MISSING  # a detector checkpoint, or a detector run's out_dir (its final phase)
    images: str = MISSING  # a folder of photos, or a labelled set (any layout; then also scored)
    out_dir: str = "runs/predict"
    score_threshold: float = 0.3  # boxes kept in detections.json and drawn; metrics use every score
    batch_size: int = 8
    draw: bool = True  # write images/<stem>.jpg with the boxes drawn
    split: Optional[str] = None  # for sources holding several splits (YOLO val, VOC ImageSets, ...)
    device: str = "cpu"
    progress: bool = True


ConfigStore.instance().store(name="train_schema", node=TrainConfig)
ConfigStore.instance().store(name="predict_schema", node=PredictConfig)
