"""Fit a scene's layout to labelled photos: Optuna over the keys that shape the label statistics.

A refiner changes how pixels look; it cannot move an object. How large objects appear, how
many there are, where they sit and how often the frame cuts them is set by the scene: the
camera's distance, elevation, side (azimuth from the objects), focal length and aim, the
object count, the pose mix and the placement area (``fit.params``). The fit searches those keys (TPE, the starting scene as
trial 0, so the result is never worse than the start) to minimise
``sim2real.label_stats.fit_loss`` between the photos' boxes and the boxes of ``fit.images``
sampled scenes, projected through the camera without rendering (render/projection.py):
about a second per trial. Every trial samples the same image indices, so trials differ by
their parameters, not by luck. The loss is a sum of one term per statistic
(``label_stats.fit_terms``); a trial that makes any term worse than the start's by more than
``fit.max_worsen`` (null by default: no guard) is never picked, so the fit cannot trade box
size for count.

How each key is searched, relative to the scene it starts from (c0 the range's centre):
``camera.distance`` and ``camera.focal_mm``: centre in [c0/4, 4 c0] (log), half-width 0-80 %
of the centre; ``camera.elevation_deg``: low end 5-85 degrees, span 0-70; ``camera.azimuth_deg``:
centre 0-360 degrees, half-width 0-180, measured from the first target's yaw
(``camera.azimuth_relative``) unless it is the full circle; ``camera.look_at_jitter``
and ``objects.placement.area_radius``: a factor in [1/8, 8] (log); ``objects.count``: low and
high ends up to the photos' largest count + 2; ``objects.pose``: upright | tilted | random
with ``tilt_deg`` 5-60. ``camera.focal_mm`` is fixed by ``scene.camera.intrinsics`` and is
left out then; it trades off against the distance, so it is off by default.
"""
from __future__ import annotations

import copy
import logging
import math
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

from render.catalog import sampling_catalog
from render.config import FIT_PARAMS, PoseMode
from render.frame import frame_size
from render.geometry import Mesh
from render.projection import hull_points, projected_boxes
from render.sampling import sample_image
from render.validate import check_config
from sim2real import label_stats
from sim2real.errors import ConfigError

log = logging.getLogger("sim2real.fit")
NO_FIT = 1e3  # loss of a scene that cannot be sampled (e.g. objects that do not fit the area)
GUARD_WEIGHT = 10.0  # how hard a trial's loss counts each unit a statistic got worse than at the start


@dataclass
class FitResult:
    cfg: object  # the fitted typed RenderConfig
    changes: dict[str, tuple]  # key -> (before, after)
    report: dict  # fit.json


def check_fit(fit) -> None:
    """Settings of ``fit.*``, one line each, before any work."""
    unknown = [p for p in fit.params if p not in FIT_PARAMS]
    if unknown:
        raise ConfigError(f"fit.params: unknown {unknown}; known: {list(FIT_PARAMS)}")
    if not fit.real:
        raise ConfigError("fit.real: the scene fit needs labelled photos, e.g. fit.real=data/my_photos")
    if fit.trials < 1 or fit.images < 1:
        raise ConfigError(f"fit.trials and fit.images must be >= 1, got {fit.trials} and {fit.images}")
    if fit.max_worsen is not None and fit.max_worsen < 0:
        raise ConfigError(f"fit.max_worsen must be >= 0 or null (no guard), got {fit.max_worsen}")


def real_stats(fit) -> label_stats.LabelStats:
    from sim2real.readers import load_labelled

    data = load_labelled(fit.real, split=fit.split, labelled=True, key="fit.real")
    return label_stats.from_records(data.records)


class Sampler:
    """Projected label statistics of candidate scenes on fixed image indices.

    Distractors and occluders are left out of the sampled scenes: they change no target's
    (amodal) box, and placing a crowd of them dominated the sampling time. Targets are
    sampled with their convex hulls, which rest and collide exactly like the whole mesh
    (the extremes of a point set are on its hull); a bend or a crush moves each point by
    where it is, so it deforms the hull as it deforms the mesh, and dents nearly so.
    """

    def __init__(self, cfg, images: int, seed: int) -> None:
        self.kind, catalog = sampling_catalog(cfg)
        self.hulls = {c: hull_points(m.verts) for c, m in catalog.targets.items()}
        self.catalog = replace(catalog, targets={c: Mesh(self.hulls[c], [], m.smooth) for c, m in catalog.targets.items()})
        self.frame = frame_size(cfg.resolution, cfg.aspect)
        self.images, self.seed = images, seed

    def stats(self, cfg) -> label_stats.LabelStats:
        cfg = copy.deepcopy(cfg)
        cfg.seed, cfg.num_images = self.seed, self.images
        cfg.scene.distractors.count, cfg.scene.occluders.prob = [0, 0], 0.0
        rows = []
        for i in range(self.images):
            meta, geometry = sample_image(cfg, i, self.kind, self.catalog)
            boxes, labels = projected_boxes(meta, geometry, self.hulls, self.frame, cfg.min_visible_px)
            rows.append((*self.frame, boxes, labels))
        return label_stats.from_boxes(rows)


def _centre_width(r) -> tuple[float, float]:
    lo, hi = float(r[0]), float(r[1])
    c = (lo + hi) / 2
    return c, (hi - lo) / (2 * c) if c > 0 else 0.0


def start_params(scene, params) -> dict:
    """The search parameters that reproduce ``scene`` (enqueued as trial 0)."""
    cam, obj = scene.camera, scene.objects
    out: dict = {}
    for key, r in (("camera.distance", cam.distance), ("camera.focal_mm", cam.focal_mm)):
        if key in params:
            out[f"{key}.centre"], out[f"{key}.width"] = _centre_width(r)
    if "camera.azimuth_deg" in params:
        lo, hi = (float(x) for x in cam.azimuth_deg)
        out["camera.azimuth_deg.centre"], out["camera.azimuth_deg.width"] = (lo + hi) / 2 % 360, min((hi - lo) / 2, 180.0)
    if "camera.elevation_deg" in params:
        out["camera.elevation_deg.low"] = float(cam.elevation_deg[0])
        out["camera.elevation_deg.span"] = float(cam.elevation_deg[1] - cam.elevation_deg[0])
    for key in ("camera.look_at_jitter", "objects.placement.area_radius"):
        if key in params:
            out[f"{key}.factor"] = 1.0
    if "objects.count" in params:
        out["objects.count.low"], out["objects.count.high"] = int(obj.count[0]), int(obj.count[1])
    if "objects.pose" in params:
        out["objects.pose.mode"], out["objects.pose.tilt_deg"] = str(obj.pose.mode), float(obj.pose.tilt_deg)
    return out


def suggest(trial, scene, params, max_count: int) -> dict:
    """One candidate's search parameters (see the module docstring for the ranges)."""
    start = start_params(scene, params)
    out: dict = {}
    for key in ("camera.distance", "camera.focal_mm"):
        if key in params:
            c0 = start[f"{key}.centre"]
            out[f"{key}.centre"] = trial.suggest_float(f"{key}.centre", c0 / 4, c0 * 4, log=True)
            out[f"{key}.width"] = trial.suggest_float(f"{key}.width", 0.0, 0.8)
    if "camera.azimuth_deg" in params:
        out["camera.azimuth_deg.centre"] = trial.suggest_float("camera.azimuth_deg.centre", 0.0, 360.0)
        out["camera.azimuth_deg.width"] = trial.suggest_float("camera.azimuth_deg.width", 0.0, 180.0)
    if "camera.elevation_deg" in params:
        out["camera.elevation_deg.low"] = trial.suggest_float("camera.elevation_deg.low", 5.0, 85.0)
        out["camera.elevation_deg.span"] = trial.suggest_float("camera.elevation_deg.span", 0.0, 70.0)
    for key in ("camera.look_at_jitter", "objects.placement.area_radius"):
        if key in params:
            out[f"{key}.factor"] = trial.suggest_float(f"{key}.factor", 1 / 8, 8.0, log=True)
    if "objects.count" in params:
        out["objects.count.low"] = trial.suggest_int("objects.count.low", 0, max_count)
        out["objects.count.high"] = trial.suggest_int("objects.count.high", 0, max_count)
    if "objects.pose" in params:
        out["objects.pose.mode"] = trial.suggest_categorical("objects.pose.mode", [m.value for m in PoseMode])
        out["objects.pose.tilt_deg"] = trial.suggest_float("objects.pose.tilt_deg", 5.0, 60.0)
    return out


def apply(cfg, p: dict):
    """A copy of the typed config ``cfg`` with the search parameters ``p`` written into its scene."""
    cfg = copy.deepcopy(cfg)
    cam, obj = cfg.scene.camera, cfg.scene.objects
    for key, attr in (("camera.distance", "distance"), ("camera.focal_mm", "focal_mm")):
        if f"{key}.centre" in p:
            c, w = p[f"{key}.centre"], p[f"{key}.width"]
            setattr(cam, attr, [round(c * (1 - w), 4), round(c * (1 + w), 4)])
    if "camera.azimuth_deg.centre" in p:
        c, w = p["camera.azimuth_deg.centre"], p["camera.azimuth_deg.width"]
        cam.azimuth_deg = [round(c - w, 2), round(c + w, 2)]
        if w < 180.0:  # a preferred side of the objects (a full circle is the same from any side)
            cam.azimuth_relative = True
    if "camera.elevation_deg.low" in p:
        low = p["camera.elevation_deg.low"]
        cam.elevation_deg = [round(low, 2), round(min(89.5, low + p["camera.elevation_deg.span"]), 2)]
    if "camera.look_at_jitter.factor" in p:
        cam.look_at_jitter = round(cam.look_at_jitter * p["camera.look_at_jitter.factor"], 5)
    if "objects.placement.area_radius.factor" in p:
        pl = obj.placement
        pl.area_radius = round(pl.area_radius * p["objects.placement.area_radius.factor"], 5)
    if "objects.count.low" in p:
        lo, hi = sorted((p["objects.count.low"], p["objects.count.high"]))
        obj.count = [lo, hi]
    if "objects.pose.mode" in p:
        obj.pose.mode = PoseMode(p["objects.pose.mode"])
        obj.pose.tilt_deg = round(p["objects.pose.tilt_deg"], 2)
    return cfg


def fitted_values(cfg, params) -> dict:
    """The current values of the fitted keys (for the YAML and the before/after table)."""
    cam, obj = cfg.scene.camera, cfg.scene.objects
    values = {
        "camera.distance": list(cam.distance), "camera.focal_mm": list(cam.focal_mm),
        "camera.elevation_deg": list(cam.elevation_deg), "camera.look_at_jitter": cam.look_at_jitter,
        "camera.azimuth_deg": list(cam.azimuth_deg), "camera.azimuth_relative": cam.azimuth_relative,
        "objects.placement.area_radius": obj.placement.area_radius, "objects.count": list(obj.count),
        "objects.pose.mode": str(obj.pose.mode), "objects.pose.tilt_deg": obj.pose.tilt_deg,
    }
    also = {"camera.azimuth_deg": "camera.azimuth_relative"}  # a key the fit of another sets too
    wanted = {k for p in params for k in values if k == p or k.startswith(p + ".") or k == also.get(p)}
    return {k: v for k, v in values.items() if k in wanted}


def fit_scene(cfg, *, progress: bool = True) -> FitResult:
    """Fit ``cfg.scene`` (a typed RenderConfig) to ``cfg.fit.real``; returns the fitted config."""
    logging.getLogger("alembic").setLevel(logging.WARNING)  # optuna's storage layer, chatty at INFO
    import optuna

    fit = cfg.fit
    check_fit(fit)
    params = [p for p in fit.params if not (p == "camera.focal_mm" and cfg.scene.camera.intrinsics)]
    t0 = time.perf_counter()
    real = real_stats(fit)
    sampler = Sampler(cfg, fit.images, fit.seed)
    max_count = int(max(real.count.max(initial=0), cfg.scene.objects.count[1])) + 2
    start = start_params(cfg.scene, params)
    start_terms = label_stats.fit_terms(real, sampler.stats(apply(cfg, start)))  # exactly what trial 0 samples
    losses: list[float] = []

    def objective(trial) -> float:
        candidate = apply(cfg, suggest(trial, cfg.scene, params, max_count))
        try:
            check_config(candidate)
            terms = label_stats.fit_terms(real, sampler.stats(candidate))
            over = worsening(terms, start_terms, fit.max_worsen)
            trial.set_user_attr("over", over)
            loss = sum(terms.values()) + GUARD_WEIGHT * over  # steers the search; a trial with over > 0 is never picked
        except ConfigError as exc:  # e.g. the objects no longer fit the placement area
            trial.set_user_attr("error", str(exc))
            trial.set_user_attr("over", float("inf"))
            loss = NO_FIT
        losses.append(loss)
        return loss

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():  # enqueue_trial is "experimental" in optuna 2
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        tpe = optuna.samplers.TPESampler(seed=fit.seed, n_startup_trials=min(15, fit.trials))
        study = optuna.create_study(direction="minimize", sampler=tpe)
        study.enqueue_trial(start)
    log.info("fit: %d trials of %d sampled scenes against %d photos (%d boxes) from %s", fit.trials, fit.images,
             real.num_images, real.num_boxes, fit.real)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # tiny matrices: BLAS threads only spin, and slow a busy machine down
        study.optimize(objective, n_trials=fit.trials, show_progress_bar=progress)
    kept = [study.trials[0]] + [t for t in study.trials[1:] if t.value is not None and t.user_attrs.get("over") == 0.0]
    chosen = min(kept, key=lambda t: t.value)  # trial 0, the start, is always a candidate
    best = drop_inert(chosen.params, start, cfg, sampler, real)
    fitted = apply(cfg, best)
    before, after = sampler.stats(cfg), sampler.stats(fitted)
    old, new = fitted_values(cfg, params), fitted_values(fitted, params)
    changes = {k: (old[k], new[k]) for k in new if old[k] != new[k]}
    report = {
        "real": str(fit.real), "scene": cfg.scene.name, "params": params, "trials": fit.trials, "images": fit.images,
        "seed": fit.seed, "seconds": round(time.perf_counter() - t0, 1),
        "loss": {"start": round(losses[0], 4), "fitted": round(float(chosen.value), 4)},
        "terms": {"start": _rounded(start_terms), "fitted": _rounded(label_stats.fit_terms(real, after))},
        "max_worsen": fit.max_worsen,
        "guarded_trials": sum(1 for t in study.trials if 0.0 < t.user_attrs.get("over", 0.0) < float("inf")),
        "distance": {"start": label_stats.distances(real, before), "fitted": label_stats.distances(real, after)},
        "summary": {"real": real.summary(), "start": before.summary(), "fitted": after.summary()},
        "values": {"start": old, "fitted": new}, "changes": {k: list(v) for k, v in changes.items()},
        "failed_trials": sum(1 for x in losses if x >= NO_FIT),
    }
    log.info("fit: loss %.3f -> %.3f in %.0f s (%d trials passed over for worsening a statistic); %s", losses[0],
             chosen.value, report["seconds"], report["guarded_trials"],
             ", ".join(f"{k} {a} -> {b}" for k, (a, b) in changes.items()) or "the start was best")
    return FitResult(fitted, changes, report)


def worsening(terms: dict, start: dict, max_worsen) -> float:
    """How far ``terms`` exceed the start's, summed over the statistics, beyond ``max_worsen`` each
    (null: no guard, 0.0). A fit that bought a closer count with a worse box size trained worse
    detectors on lmo (docs/benchmarks.md "Scene fit"); with ``max_worsen=0`` no statistic may get worse."""
    if max_worsen is None:
        return 0.0
    return float(sum(max(0.0, terms[k] - start[k] - max_worsen) for k in terms))


def _rounded(terms: dict) -> dict:
    return {k: round(v, 4) for k, v in terms.items()}


def drop_inert(best: dict, start: dict, cfg, sampler: Sampler, real) -> dict:
    """``best`` with every key whose fitted value changes nothing put back to its start.

    A key the scene ignores (the pose mix where a scene lays its objects out itself, as the
    cards do) takes whatever value the search left it at; keeping that would write a change
    into the fitted YAML that means nothing. Keys are grouped by the scene key they set.
    """
    keep = dict(best)
    target = label_stats.fit_loss(real, sampler.stats(apply(cfg, keep)))
    for group in sorted({k.rsplit(".", 1)[0] for k in keep}):
        trial = {k: (start[k] if k.rsplit(".", 1)[0] == group else v) for k, v in keep.items()}
        if trial != keep and label_stats.fit_loss(real, sampler.stats(apply(cfg, trial))) == target:
            keep = trial
    return keep


def write_fit(result: FitResult, base_scene: str, out_dir: Path | str) -> Path:
    """``<out_dir>/scene/<base>_fitted.yaml`` (a scene config extending the base one: use it with
    ``--config-dir <out_dir> scene=<base>_fitted``) and ``<out_dir>/fit.json``; returns the YAML."""
    from sim2real import atomic

    out = Path(out_dir)
    name = f"{base_scene}_fitted"
    r = result.report
    dist = r["distance"]
    lines = [
        f"# sim2real-fit: scene {base_scene} fitted to the labels of {r['real']}",
        f"# ({r['summary']['real']['images']} photos, {r['summary']['real']['boxes']} boxes; {r['trials']} trials "
        f"of {r['images']} projected scenes, loss {r['loss']['start']} -> {r['loss']['fitted']}).",
        "# Label-statistic distances to the photos (KS; 0 = alike), start -> fitted:",
        "#   " + ", ".join(f"{k} {dist['start'][k]} -> {dist['fitted'][k]}" for k in dist["fitted"]),
        f"# Use it: sim2real-render --config-dir {out.resolve()} scene={name}",
        "defaults:", f"  - {base_scene}", "  - _self_", "",
    ]
    nested: dict = {}
    for key, (before, after) in sorted(result.changes.items()):
        *parents, leaf = key.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = (after, before)
    lines += _yaml_lines(nested, 0)
    yaml_path = out / "scene" / f"{name}.yaml"
    yaml_path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(yaml_path, "\n".join(lines) + "\n")
    atomic.write_json(out / "fit.json", {**r, "yaml": str(yaml_path)}, indent=2)
    return yaml_path


def _yaml_lines(node: dict, depth: int) -> list[str]:
    pad, out = "  " * depth, []
    for key, value in node.items():
        if isinstance(value, dict):
            out += [f"{pad}{key}:", *_yaml_lines(value, depth + 1)]
        else:
            after, before = value
            out.append(f"{pad}{key}: {_flow(after)}  # was {_flow(before)}")
    return out


def _flow(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "[" + ", ".join(_flow(x) for x in v) + "]"
    if isinstance(v, float):
        return repr(round(v, 4)) if math.isfinite(v) else str(v)
    return str(v)


def fit_and_write(cfg, out_dir: Path | str, *, base_scene: str, progress: bool = True) -> FitResult:
    result = fit_scene(cfg, progress=progress)
    write_fit(result, base_scene, out_dir)
    return result
