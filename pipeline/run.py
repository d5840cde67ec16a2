"""`sim2real`: render -> refine -> detect -> report, on sim2real/conf/pipeline.yaml.

By default every domain is built in: a ``sim`` training set, and a ``proxy_real`` set split into
an unlabelled part (refiner training; its labels are the real-train pool for the real mixes)
and a labelled test part (evaluation only), all with disjoint seeds. ``data.real``,
``data.real_test`` and ``data.real_train`` replace those parts with user data.
"""
from __future__ import annotations

import json
import logging
import time
from contextlib import contextmanager
from pathlib import Path

from omegaconf import DictConfig

from pipeline.config import register_configs
from pipeline.mixes import parse_mix
from pipeline.mixing import (check_mixing, content_addressed, equal_budget_epochs, mix_overrides, plan_phases,
                             pretrained_mix)
from pipeline.stages import run_parallel, run_stage
from sim2real import atomic
from sim2real.app import resolved
from sim2real.dataset import DatasetReader, fingerprint
from sim2real.errors import ConfigError, DatasetError, Sim2RealError
from sim2real.records import parse_class_map

log = logging.getLogger("pipeline.run")
# the pipeline owns its refine and train folders: a stage killed midway resumes from its last
# checkpoint, and one whose settings changed starts over in place (sim2real/guard.py)
OWNED = ("ckpt_path=last", "overwrite=true")
register_configs()


def q(value: object) -> str:
    """Quote a value for a Hydra override."""
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


class Pipeline:
    def __init__(self, cfg: DictConfig) -> None:
        self.cfg = cfg
        self.out = Path(cfg.out_dir).resolve()
        self.state = self.out / ".stages"
        self.data = Path(cfg.data_dir).resolve() if cfg.data_dir else self.out / "data"
        self.group = cfg.name or f"pipeline-{fingerprint(resolved(cfg))[:8]}"
        self.timings: dict[str, float] = {}
        self.notes: list[str] = []
        self.camera_checkpoint: str | None = None  # the camera refiner's, for train.camera_on_the_fly
        mode = resolved(cfg)["logger"]["mode"]
        self.logger_overrides = [f"logger.mode={mode}", f"logger.group={q(self.group)}"]

    @contextmanager
    def timed(self, stage: str):
        start = time.perf_counter()
        yield
        self.timings[stage] = round(self.timings.get(stage, 0.0) + time.perf_counter() - start, 2)

    # -- render -----------------------------------------------------------------------------
    def render(self, part: str, fit_to: Path | None = None) -> Path:
        """Render one part; ``fit_to``: a labelled real set the scene is fitted to first (render/fit.py)."""
        r = self.cfg.render
        spec = r[part]
        out = self.data / part
        fit = [] if fit_to is None else ["fit.enabled=true", f"fit.real={q(fit_to)}", f"fit.seed={spec.seed}"]
        run_stage("render", f"render_{part}", [
            f"scene={r.scene}", f"reality={spec.reality}", f"num_images={spec.num_images}",
            f"resolution={r.resolution}", f"seed={spec.seed}", f"workers={r.workers}",
            *([f"aspect={r.aspect}"] if r.aspect is not None else []),
            f"out_dir={q(out)}", f"name={part}", *fit, *self.logger_overrides, *r.overrides,
        ], state_dir=self.state)
        return out

    def build_data(self) -> dict[str, Path | None]:
        from sim2real.importing import import_labelled, import_unlabelled

        d, res = self.cfg.data, self.cfg.render.resolution
        options = reader_options(d)
        paths: dict[str, Path | None] = {}
        if d.split.source:
            paths.update(self.split_real())
        for key in ("real_test", "real_train"):
            if d.get(key):
                paths[key] = import_labelled(d[key], self.data / f"{key}_imported", resolution=res, fit=d.fit,
                                             split=split_of(d, key), key=f"data.{key}", **options).root
        if d.real and d.real == d.real_train and split_of(d, "real") == split_of(d, "real_train"):
            paths["real"] = paths["real_train"]  # the same photos: the labelled import serves, labels ignored
        elif d.real:
            paths["real"] = import_unlabelled(d.real, self.data / "real_photos", resolution=res, fit=d.fit,
                                              split=split_of(d, "real"), **options)
        elif d.split.source:
            paths["real"] = paths["real_train"]  # the refiner sees the training side's photos, labels ignored
        else:
            paths["real"] = self.render("real")
        user = bool(d.real or d.split.source)
        if "real_test" not in paths:
            paths["real_test"] = None if user else self.render("real_test")
            if user:
                self.notes.append("no data.real_test given: detectors are not scored")
        if "real_train" not in paths:
            paths["real_train"] = None if user else paths["real"]
            if user:
                self.notes.append("no data.real_train given: mixes with real data are left out")
        # last, so that render.fit can fit the scene to the real training pool's labels (never the test split)
        if self.cfg.render.fit and paths["real_train"] is None:
            raise ConfigError("render.fit: the scene fit needs labelled real photos (data.real_train or data.split.source)")
        paths["sim"] = self.render("sim", fit_to=paths["real_train"] if self.cfg.render.fit else None)
        return paths

    def split_real(self) -> dict[str, Path]:
        """``data.split``: one labelled set cut into real_train and real_test by the recorded rule."""
        from sim2real.importing import import_labelled
        from sim2real.readers import load_labelled
        from sim2real.real_split import SplitRule, split_indices, write_record

        d, sp = self.cfg.data, self.cfg.data.split
        rule = SplitRule(float(sp.test_fraction), int(sp.block), int(sp.seed))
        data = load_labelled(sp.source, labelled=True, key="data.split.source", **reader_options(d))
        train, test = split_indices(len(data), rule)
        self.data.mkdir(parents=True, exist_ok=True)
        write_record(self.data / "split.json", sp.source, data, rule, train, test)
        out = {}
        for key, subset in (("real_train", train), ("real_test", test)):
            out[key] = import_labelled(sp.source, self.data / f"{key}_imported", resolution=self.cfg.render.resolution,
                                       fit=d.fit, subset=subset, key="data.split.source", **reader_options(d)).root
        log.info("data.split: %s -> %d training-pool and %d test images (blocks of %d, seed %d; %s)", sp.source,
                 len(train), len(test), rule.block, rule.seed, self.data / "split.json")
        return out

    # -- refine -----------------------------------------------------------------------------
    def refine(self, paths: dict) -> dict:
        out = self.out / "refined"
        return run_stage("refine", "refine", [
            f"data.sim={q(paths['sim'])}", f"data.real={q(paths['real'])}", f"out_dir={q(out)}",
            f"seed={self.cfg.seed}", *OWNED, *self.logger_overrides, *self.cfg.refine.overrides,
        ], state_dir=self.state)

    # -- train ------------------------------------------------------------------------------
    def train(self, paths: dict, refined_dir: Path | None) -> dict[str, dict]:
        """Every mix's detector (``train.mixing``: pipeline/mixing.py), ``train.jobs`` at a time."""
        if paths["real_test"] is None:
            return {}
        mode = self.cfg.train.mixing
        wanted = [m for m in self.cfg.train.mixes if self._trainable(m, paths)]
        first, second = plan_phases(wanted, mode)
        budget = self.real_only_budget(mode)
        results = self._train_runs({m: [*self._mix_overrides(m, paths, refined_dir, mode),
                                        *(budget if not parse_mix(m).synthetic else [])] for m in first})
        inits = {}
        for name in second:
            base = results[pretrained_mix(parse_mix(name))]
            weights = base["info"]["checkpoints"].get("merged")
            if not weights:
                raise Sim2RealError(f"train: mix {pretrained_mix(parse_mix(name))!r} left no checkpoint to fine-tune "
                                    f"{name!r} from ({base['out_dir']})")
            inits[name] = content_addressed(weights, self.out / ".init")
        results.update(self._train_runs({m: [*self._mix_overrides(m, paths, refined_dir, mode), "schedule=finetune",
                                             f"init={q(inits[m])}"] for m in second}))
        return {name: results[name] for name in wanted + [m for m in first if m not in wanted]}

    def check_camera_on_the_fly(self) -> None:
        """``train.camera_on_the_fly`` needs the camera refiner (before any work)."""
        if not self.cfg.train.camera_on_the_fly:
            return
        from pipeline.stages import compose_stage

        name = compose_stage("refine", list(self.cfg.refine.overrides)).refiner.name
        if name != "camera":
            raise ConfigError(f"train.camera_on_the_fly needs refiner=camera in refine.overrides (the refiner is {name!r})")

    def real_only_budget(self, mode: str) -> list[str]:
        """``train.equal_budget``: the override that gives a real-only mix a fine-tuned mix's epochs."""
        if not self.cfg.train.equal_budget or mode != "finetune":
            return []
        from pipeline.stages import compose_stage

        composed = compose_stage("train", list(self.cfg.train.overrides))
        return [f"trainer.max_epochs={equal_budget_epochs(composed, self_training=self.cfg.train.self_training)}"]

    def _trainable(self, name: str, paths: dict) -> bool:
        if parse_mix(name).needs_real and paths["real_train"] is None:
            self.notes.append(f"mix {name!r} left out: it needs data.real_train")
            return False
        return True

    def _mix_overrides(self, name: str, paths: dict, refined_dir: Path | None, mode: str) -> list[str]:
        mix = parse_mix(name)
        on_the_fly = self.cfg.train.camera_on_the_fly and "refined" in mix.synthetic
        sources = {"sim": paths["sim"], "refined": paths["sim"] if on_the_fly else refined_dir}
        # every mix gets the sim set's number of samples per epoch: equal step budgets
        epoch_size = len(DatasetReader(paths["sim"]))
        train = ",".join(q(sources[s]) for s in mix.synthetic)
        overrides = [
            f"data.train=[{train}]", f"data.test={q(paths['real_test'])}",
            f"out_dir={q(self.out / 'detectors' / name.replace('+', '_'))}", f"seed={self.cfg.seed}",
            f"data.epoch_size={epoch_size}", *OWNED, *self.class_overrides(), *mix_overrides(mix, mode),
        ]
        if mix.needs_real:
            overrides += [f"data.real_train={q(paths['real_train'])}", f"data.real_fraction={mix.real_fraction}"]
        if self.cfg.train.self_training and mix.synthetic:
            overrides.append(f"pseudo.source={q(paths['real'])}")
        if self.cfg.train.align and mix.synthetic:
            overrides.append(f"align.source={q(paths['real'])}")
        if on_the_fly:
            overrides.append(f"data.augment.camera={q(self.camera_checkpoint)}")
        return [*overrides, *self.logger_overrides, *self.cfg.train.overrides]

    def _train_runs(self, jobs: dict[str, list[str]]) -> dict[str, dict]:
        if not jobs:
            return {}
        parallel = int(self.cfg.train.jobs)
        quiet = ["trainer.enable_progress_bar=false"] if parallel > 1 else []  # no interleaved bars
        results = run_parallel("train", {f"train_{name}": [*o, *quiet] for name, o in jobs.items()},
                               state_dir=self.state, jobs=parallel)
        return {name: results[f"train_{name}"] for name in jobs}

    def class_overrides(self) -> list[str]:
        """The classes, class map and ignored labels every detector run gets (``data.*``)."""
        d = self.cfg.data
        out = [f"data.ignore_labels=[{','.join(q(x) for x in d.ignore_labels)}]"]
        if d.classes:
            out.append(f"data.classes=[{','.join(q(c) for c in d.classes)}]")
        cmap = parse_class_map(d.class_map)
        if cmap:
            out.append(f"data.class_map={q(json.dumps(cmap))}")
        return out

    def lineage(self, stage: str, inputs: dict, outputs: dict) -> None:
        from sim2real.tracking import log_lineage

        log_lineage(self.cfg.logger, stage=stage, group=self.group, out_dir=self.out,
                    inputs={self.artifact(k): v for k, v in inputs.items() if v},
                    outputs={self.artifact(k): v for k, v in outputs.items() if v})

    def artifact(self, name: str) -> str:
        return f"{self.group}-{name}".replace("+", "_")

    # -- all --------------------------------------------------------------------------------
    def run(self) -> dict:
        from pipeline.report import collect_metrics, write_report

        self.out.mkdir(parents=True, exist_ok=True)
        for mix in self.cfg.train.mixes:
            parse_mix(mix)  # fail on a bad mix name before any work
        check_mixing(self.cfg.train.mixing)
        self.check_camera_on_the_fly()
        with self.timed("render"):
            paths = self.build_data()
        self.lineage("render", {}, paths)
        refine, refined_dir = {}, None
        if needs_refined(self.cfg.train.mixes):
            with self.timed("refine"):
                refine = self.refine(paths)
            refined_dir = Path(refine["out_dir"])
            self.camera_checkpoint = refine.get("checkpoint")
            self.lineage("refine", {"sim": paths["sim"], "real": paths["real"]}, {"refined": refined_dir})
        else:
            self.notes.append("no mix trains on refined images: the refiner was not trained")
        with self.timed("train"):
            detectors = self.train(paths, refined_dir)
        self.lineage("train", {"sim": paths["sim"], "refined": refined_dir, "real_test": paths["real_test"]},
                     {f"detector-{mix}": r["out_dir"] for mix, r in detectors.items()})
        analysis = None
        if self.cfg.report.analyze:  # sim against the real training pool, never the test split
            from pipeline.analyze import for_pipeline

            with self.timed("analyze"):
                analysis = for_pipeline(self.cfg, paths, self.out / "analysis")
        with self.timed("report"):
            metrics = collect_metrics(refine, detectors, self.timings, analysis)
            write_report(self, paths, refined_dir, refine, detectors, metrics, analysis)
        metrics["timing_s.report"] = self.timings["report"]
        atomic.write_json(self.out / "metrics.json", metrics, indent=2)
        for note in self.notes:
            log.warning("%s", note)
        log.info("report: %s", self.out / "report.html")
        return {"out_dir": str(self.out), "metrics": metrics, "notes": self.notes}


def needs_refined(mixes) -> bool:
    """Whether any mix trains on refined images (else the refine stage is skipped)."""
    return any("refined" in parse_mix(m).synthetic for m in mixes)


def reader_options(d) -> dict:
    """Options the readers take from ``data.*`` (BOP names and visibility threshold)."""
    return {"names": dict(d.names) if d.names else None, "min_visib_fract": float(d.min_visib_fract)}


def split_of(d, key: str) -> str | None:
    splits = dict(d.splits or {})
    unknown = sorted(set(splits) - {"real", "real_test", "real_train"})
    if unknown:
        raise ConfigError(f"data.splits: unknown sources {unknown}; use real, real_test or real_train")
    return None if splits.get(key) is None else str(splits[key])


def check_user_data(d) -> None:
    """Fail before any rendering when a ``data.*`` source is missing, or yields no labels
    where labels are needed (``real_test``, ``real_train``)."""
    from sim2real.importing import fitted_size
    from sim2real.readers import detect_format, load_labelled

    if d.real_train and not d.real and not d.real_test:
        raise ConfigError("data.real_train without data.real or data.real_test: give the real photos too")
    if d.split.source and (d.real_test or d.real_train):
        raise ConfigError("data.split.source replaces data.real_test and data.real_train: give one or the other")
    if d.split.source:
        from sim2real.real_split import SplitRule

        SplitRule(float(d.split.test_fraction), int(d.split.block), int(d.split.seed)).check()
    fitted_size(1, 1, 8, d.fit)
    for key, source in (("real", d.real), ("real_test", d.real_test), ("real_train", d.real_train),
                        ("split.source", d.split.source)):
        if not source:
            continue
        try:
            detect_format(Path(source))
        except DatasetError as exc:
            raise DatasetError(f"data.{key}: {exc}") from None
        if key != "real":
            load_labelled(source, split=split_of(d, key) if key != "split.source" else None, labelled=True,
                          key=f"data.{key}", **reader_options(d))


def scene_classes(cfg: DictConfig) -> list[str]:
    """The classes the render stage will draw, from its composed config (no Blender)."""
    from render.sampling import target_classes
    from pipeline.stages import compose_stage

    render = compose_stage("render", [f"scene={cfg.render.scene}", *cfg.render.overrides])
    return target_classes(render.scene)


def check_classes(cfg: DictConfig) -> None:
    """Every scene class and every label of the real sets maps onto a class (or is ignored),
    before any work: the error lists both sides."""
    from sim2real.readers import load_labelled
    from sim2real.records import LabelledSet, Record, map_classes

    d = cfg.data
    scene = scene_classes(cfg)
    classes = list(d.classes) if d.classes else scene
    cmap = parse_class_map(d.class_map)
    sources = {"render.scene": (f"scene {cfg.render.scene}", scene)}
    for key, source in (("real_test", d.real_test), ("real_train", d.real_train), ("split.source", d.split.source)):
        if source:
            data = load_labelled(source, split=split_of(d, key) if key != "split.source" else None, key=f"data.{key}",
                                 **reader_options(d))
            sources[f"data.{key}"] = (source, sorted({name for rec in data.records for name in rec.labels}))
    for key, (where, labels) in sources.items():
        probe = LabelledSet(records=[Record(image_path=Path(where), image_id=0, boxes=[[0, 0, 1, 1]] * len(labels),
                                            labels=list(labels))], classes=list(labels), fmt="probe", root=Path(where))
        map_classes(probe, classes, cmap, ignore_labels=list(d.ignore_labels), key=key)


def check_stage_overrides(cfg: DictConfig) -> None:
    """Compose every stage with its ``<stage>.overrides`` before any work: a typo in a stage
    override fails in a second, not after the render."""
    from pipeline.stages import STAGES, compose_stage

    for stage, overrides, fixed in (("render", cfg.render.overrides, [f"scene={cfg.render.scene}"]),
                                    ("refine", cfg.refine.overrides, []), ("train", cfg.train.overrides, [])):
        if not overrides:
            continue
        try:
            compose_stage(STAGES[stage][0], [*fixed, *overrides])
        except Exception as exc:  # Hydra's and OmegaConf's errors: unknown option or key, bad value
            raise ConfigError(f"{stage}.overrides={list(overrides)}: {composition_error(exc)}") from None


def composition_error(exc: BaseException) -> str:
    """Hydra's composition error and its cause (the invalid value and its key) on one line."""
    parts = [str(exc).split("Config search path")[0]]
    if exc.__cause__ is not None and str(exc.__cause__) not in parts[0]:
        parts.append(str(exc.__cause__))
    lines = [line.strip() for part in parts for line in part.splitlines() if line.strip()]
    return " ".join(line for line in lines if not line.startswith(("object_type=", "reference_type=")))


def check_root(cfg: DictConfig) -> None:
    """An experiment that builds its paths from ``data.root`` needs it set, and existing."""
    from omegaconf import OmegaConf

    raw = json.dumps(OmegaConf.to_container(cfg, resolve=False, enum_to_str=True))
    if "${data.root}" in raw and not cfg.data.root:
        raise ConfigError("data.root: this experiment builds its paths from the real set's folder; "
                          "set it, e.g. data.root=../shared/real/cards")
    if cfg.data.root and not Path(cfg.data.root).is_dir():
        raise ConfigError(f"data.root: {cfg.data.root} is not a folder")


def run(cfg: DictConfig) -> dict:
    check_root(cfg)
    check_user_data(cfg.data)
    check_stage_overrides(cfg)
    check_classes(cfg)
    return Pipeline(cfg).run()

