"""Schema of ``sim2real/conf/pipeline.yaml`` (sim2real: every stage, then the report)."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Optional

from sim2real.config.choices import FitRule
from sim2real.config.common import LoggerConfig


class Mixing(StrEnum):
    finetune = "finetune"
    balanced = "balanced"
    merged = "merged"


@dataclass
class SplitConfig:
    """One labelled real set split into the real-train pool and the test split (sim2real/real_split.py)."""

    source: Optional[str] = None  # the labelled set; replaces data.real_test and data.real_train
    test_fraction: float = 0.5
    block: int = 1  # consecutive images (reader order) that stay on one side: frames of a video
    seed: int = 0


@dataclass
class PipelineDataConfig:
    """User data replacing the proxy-real domain (any supported layout, see README)."""

    root: Optional[str] = None  # a real set's folder; experiment configs build the paths below from it
    real: Optional[str] = None  # unlabelled photos for the refiner (a labelled set's labels are ignored)
    real_test: Optional[str] = None  # labelled test set: evaluation only
    real_train: Optional[str] = None  # labelled real training pool for the real mixes
    # {source: split} for sources holding several splits (YOLO train/val, VOC ImageSets,
    # labelImg subfolders, BOP split folders), e.g. {real_test: val, real_train: train}
    splits: Any = None
    # The classes detectors learn and are scored on (null: the scene's classes).
    classes: Optional[list[str]] = None
    # {label: class}, applied to every source, renders included: renames real labels
    # ({tin: can}) and merges scene classes ({48X: cylinder, 48Y: cylinder}). null (not {})
    # so that ``data.class_map={a: b}`` works on the command line.
    class_map: Any = None
    ignore_labels: list[str] = field(default_factory=list)  # labels dropped (counted); other unmapped ones are errors
    fit: FitRule = FitRule.keep  # how photos reach the render resolution: keep | letterbox | crop (README)
    names: Any = None  # {numeric object id: name} for BOP sets (default obj_000001, ...)
    min_visib_fract: float = 0.1  # BOP: less visible instances are ignore regions
    split: SplitConfig = field(default_factory=SplitConfig)


@dataclass
class RenderPart:
    num_images: int = 100
    seed: int = 0
    reality: str = "sim"


@dataclass
class PipelineRenderConfig:
    scene: str = "primitives"
    resolution: int = 128  # the longer side of renders and of imported photos
    aspect: Optional[float] = None  # render width / height (null: square, or the scene camera's intrinsics)
    workers: int = 2
    # fit the sim part's scene layout to the real training pool's labels before rendering it
    # (render/fit.py; the fitted scene YAML lands in <data_dir>/sim/fit/)
    fit: bool = False
    sim: RenderPart = field(default_factory=lambda: RenderPart(400, 0, "sim"))
    # Proxy-real part seen (without labels) by the refiner; its labels are the real-train pool.
    real: RenderPart = field(default_factory=lambda: RenderPart(300, 100_000, "proxy_real"))
    # Proxy-real labelled test split: evaluation only.
    real_test: RenderPart = field(default_factory=lambda: RenderPart(150, 200_000, "proxy_real"))
    overrides: list[str] = field(default_factory=list)


@dataclass
class PipelineRefineConfig:
    overrides: list[str] = field(default_factory=list)


@dataclass
class PipelineTrainConfig:
    mixes: list[str] = field(default_factory=lambda: [
        "sim", "refined", "sim+real10", "refined+real10", "real10", "real100"])
    # how synthetic and real images mix (pipeline/mixing.py): finetune | balanced | merged
    mixing: Mixing = Mixing.finetune
    # mixes with renders then self-train on the unlabelled real photos (data.real): the detector
    # labels them and trains on its confident boxes too (train/pseudo.py, pseudo.* in train.overrides)
    self_training: bool = False
    # mixes with renders align the detector's features on renders with those on the unlabelled real
    # photos (data.real) while they pretrain: a domain classifier behind a gradient reversal (train/align.py)
    align: bool = False
    # refiner=camera: the refined mixes train on the renders seen through a fresh draw of the learned
    # camera each time they are read (data.augment.camera), not on the refined set's one draw each
    camera_on_the_fly: bool = False
    # mixing=finetune: the real-only mixes (real10, real100) train as many epochs as a fine-tuned mix
    # does in all (pretraining + fine-tuning cycles + self-training rounds; pipeline/mixing.py)
    equal_budget: bool = False
    jobs: int = 2  # detectors trained side by side (each in its own process, cpu_count // jobs threads)
    overrides: list[str] = field(default_factory=list)


@dataclass
class ReportConfig:
    samples: int = 6  # images per domain in the sample grid
    tsne_per_domain: int = 120
    # the domain analysis (pipeline/analyze.py, docs/analyze.md): sim against the real training pool
    analyze: bool = True
    analysis_images: int = 300  # images per set read for its camera statistics and coverage


@dataclass
class PipelineConfig:
    data: PipelineDataConfig = field(default_factory=PipelineDataConfig)
    render: PipelineRenderConfig = field(default_factory=PipelineRenderConfig)
    refine: PipelineRefineConfig = field(default_factory=PipelineRefineConfig)
    train: PipelineTrainConfig = field(default_factory=PipelineTrainConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    out_dir: str = "runs/pipeline"
    # Where the rendered / imported datasets go (default <out_dir>/data). Runs that differ only
    # in training settings (e.g. seed=0,1,2) can share one data_dir and render once.
    data_dir: Optional[str] = None
    seed: int = 0  # training seed of the refiner and the detectors
    name: Optional[str] = None


def register_configs() -> None:
    """Store every stage's schema (the pipeline composes each stage's config in-process)."""
    import refiner.config  # noqa: F401
    import render.config  # noqa: F401
    import train.config  # noqa: F401
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="pipeline_schema", node=PipelineConfig)
