"""``sim2real-analyze sim=<renders> real=<photos>``: where the renders differ from the photos.

Three views, each answering a different question (docs/analyze.md):

- label statistics (sim2real/label_stats.py), when the real set has labels: what a refiner
  cannot change, how large, how many, where, which and how cut-off the objects are;
- camera statistics (sim2real/camera_stats.py): what a refiner can change;
- coverage (pipeline/coverage.py): which photos no render resembles, the domain's edge.

A short verdict ranks the label statistics by their distance and puts numbers in words. The
pipeline runs the same analysis of its sim set against the real training pool (never the test
split) and shows it in the report.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import hydra
import numpy as np
from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig

from sim2real import atomic
from sim2real.app import CONF_DIR, guarded
from sim2real.errors import DatasetError
from sim2real.label_stats import CONTINUOUS, LabelStats, distances, from_records

log = logging.getLogger(__name__)

FIGURES = {"label_stats": "label_stats.png", "centres": "centres.png", "coverage_worst": "coverage_worst.png"}
AGREE = 0.1  # a distance below this is "alike" in the verdict
SIGNIFICANCE = 0.05  # a larger p-value: a distance that two samples of one population often show
SHORT = {"size": "box size", "aspect": "box aspect", "count": "objects per image", "cx": "box centre x",
         "cy": "box centre y", "classes": "class balance", "truncated": "truncation"}  # the verdict's words
MEASURE = {**{n: "KS" for n in CONTINUOUS}, "classes": "total variation", "truncated": "share difference"}


@dataclass
class AnalyzeConfig:
    """``sim2real-analyze`` (sim2real/conf/analyze.yaml)."""

    sim: str = MISSING  # the renders: any labelled set (a sim2real dataset, COCO, YOLO, VOC, BOP)
    real: str = MISSING  # the photos: a labelled set, or a plain folder (then no label statistics)
    out_dir: str = "runs/analyze"
    max_images: int = 300  # images per set read for camera statistics and coverage (seeded draw)
    worst: int = 12  # worst-covered photos shown in coverage_worst.png
    k: int = 5  # coverage: a photo is covered when a render lies within its k-th nearest photo
    seed: int = 0
    class_map: Any = None  # {label: class} applied to both sets before comparing class balance
    ignore_labels: list[str] = field(default_factory=list)  # labels left out of both sets


ConfigStore.instance().store(name="analyze_schema", node=AnalyzeConfig)


def load_side(path: str | Path, key: str, class_map: Mapping[str, str], ignore_labels: Sequence[str]):
    """A set's records with labels renamed and ignored labels dropped; errors name the key."""
    from sim2real.readers import load_labelled

    try:
        data = load_labelled(path, key=key)
    except DatasetError as exc:
        raise DatasetError(with_key(key, path, exc)) from None
    if not data.records:
        raise DatasetError(f"{key}={path}: holds no images")
    ignored = set(ignore_labels)
    records = []
    for rec in data.records:
        kept = rec.select([i for i, lab in enumerate(rec.labels) if lab not in ignored])
        kept.labels = [class_map.get(lab, lab) for lab in kept.labels]
        records.append(kept)
    labelled = data.fmt != "folder" and any((~r.ignore).any() for r in records)
    return records, labelled


def with_key(key: str, path: str | Path, exc: Exception) -> str:
    """``real=<path>: <what is wrong>``, however the reader worded it."""
    text = str(exc)
    if text.startswith(f"{key}="):
        return text
    return f"{key}={text}" if text.startswith(f"{path}: ") else f"{key}={path}: {text}"


def check_sources(sim: str | Path, real: str | Path) -> None:
    """Both sources exist and have a readable layout, before any work."""
    from sim2real.readers import detect_format

    for key, path in (("sim", sim), ("real", real)):
        if not path:
            raise DatasetError(f"{key}= is not set: give a folder or a COCO .json")
        try:
            detect_format(Path(path))
        except DatasetError as exc:
            raise DatasetError(with_key(key, path, exc)) from None


def analyze(sim: str | Path, real: str | Path, out_dir: str | Path, *, max_images: int | None = 300, seed: int = 0,
            worst: int = 12, k: int = 5, class_map: Mapping[str, str] | None = None,
            ignore_labels: Sequence[str] = ()) -> dict:
    """Write analysis.json, verdict.txt and the figures into ``out_dir``; return the analysis."""
    from pipeline.analyze_plots import centres_figure, label_stats_figure
    from pipeline.coverage import coverage, coverage_features, embed_arrays, read_set, subsample, worst_figure
    from sim2real.camera_stats import NAMES, separability

    check_sources(sim, real)
    start = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cmap = dict(class_map or {})
    sim_records, sim_labelled = load_side(sim, "sim", cmap, ignore_labels)
    real_records, real_labelled = load_side(real, "real", cmap, ignore_labels)
    files: dict[str, str] = {}

    labels: dict[str, Any] | None = None
    stats_sim = stats_real = None
    if sim_labelled and real_labelled:
        stats_sim, stats_real = from_records(sim_records), from_records(real_records)
        dists = distances(stats_real, stats_sim)
        labels = {"sim": stats_sim.summary(), "real": stats_real.summary(), "distances": dists,
                  "p_values": p_values(stats_sim, stats_real)}
        files["label_stats"] = str(label_stats_figure(stats_sim, stats_real, dists, out / FIGURES["label_stats"]))
        files["centres"] = str(centres_figure(stats_sim, stats_real, dists, out / FIGURES["centres"]))

    images_sim = read_set(subsample([r.image_path for r in sim_records], max_images, seed), "renders (analysis)")
    images_real = read_set(subsample([r.image_path for r in real_records], max_images, seed), "photos (analysis)")
    if not images_sim.paths or not images_real.paths:
        side = "sim" if not images_sim.paths else "real"
        raise DatasetError(f"{side}={sim if side == 'sim' else real}: no readable image")
    medians = {name: [round(float(v), 4) for v in np.median(s.stats, 0)]
               for name, s in (("sim", images_sim), ("real", images_real))}
    c2st = separability(images_real.stats, images_sim.stats, seed=seed)  # NaN: fewer images than folds
    camera = {"names": list(NAMES), "median": medians, "stats_c2st": round(c2st, 4) if c2st == c2st else None,
              "largest": largest_camera_difference(images_sim.stats, images_real.stats)}

    features = coverage_features()  # fixed and seeded: no weights are downloaded
    cov = coverage(embed_arrays(images_real.small, features), embed_arrays(images_sim.small, features), k=k)
    order = worst_figure(images_real, images_sim, cov, out / FIGURES["coverage_worst"], worst=worst)
    if order:
        files["coverage_worst"] = str(out / FIGURES["coverage_worst"])
    finite = cov.ratios[np.isfinite(cov.ratios)]
    cover = {"value": round(cov.value, 4) if cov.value == cov.value else None, "k": cov.k,
             "median_ratio": round(float(np.median(finite)), 4) if len(finite) else None,
             "worst": [{"image": str(images_real.paths[i]), "ratio": round(float(cov.ratios[i]), 4),
                        "nearest_render": str(images_sim.paths[int(cov.nearest[i])])} for i in order]}

    text = verdict(stats_sim, stats_real, labels["distances"] if labels else None, camera, cover,
                   p=labels["p_values"] if labels else None, real_labelled=real_labelled, sim_labelled=sim_labelled)
    files["verdict"] = str(out / "verdict.txt")
    files["analysis"] = str(out / "analysis.json")
    result = {"sim": {"path": str(sim), "images": len(sim_records), "read": len(images_sim.paths),
                      "skipped": images_sim.skipped, "labelled": sim_labelled},
              "real": {"path": str(real), "images": len(real_records), "read": len(images_real.paths),
                       "skipped": images_real.skipped, "labelled": real_labelled},
              "labels": labels, "camera": camera, "coverage": cover, "verdict": text, "files": files,
              "seconds": round(time.perf_counter() - start, 1)}
    for stale in set(FIGURES) - set(files):  # a figure an earlier run here wrote, this one not
        (out / FIGURES[stale]).unlink(missing_ok=True)
    atomic.write_text(out / "verdict.txt", text + "\n")
    atomic.write_json(out / "analysis.json", result, indent=2)
    return result


def p_values(sim: LabelStats, real: LabelStats) -> dict[str, float]:
    """Per statistic, how likely a distance this large is between two samples of one population
    at these set sizes: KS tests, and chi-square tests of the class and truncation counts. A small
    labelled share of the photos gives large distances by chance alone; the verdict says so."""
    from scipy import stats

    out = {name: float(stats.ks_2samp(real.values(name), sim.values(name)).pvalue) for name in CONTINUOUS}
    classes = sorted(set(sim.classes) | set(real.classes))
    tables = {"classes": [[st.classes.count(c) for c in classes] for st in (sim, real)],
              "truncated": [[int(st.truncated.sum()), int((~st.truncated).sum())] for st in (sim, real)]}
    for name, table in tables.items():
        table = np.asarray(table)
        table = table[:, table.sum(0) > 0]  # a class (or side) neither set has says nothing
        out[name] = float(stats.chi2_contingency(table).pvalue) if table.shape[1] > 1 else 1.0
    return {k: round(v, 4) for k, v in out.items()}


def largest_camera_difference(sim: np.ndarray, real: np.ndarray) -> dict:
    """The camera statistic whose medians lie furthest apart in units of the pooled spread."""
    from sim2real.camera_stats import NAMES

    ms, mr = np.median(sim, 0), np.median(real, 0)
    spread = np.concatenate([sim, real]).std(0) + 1e-9
    i = int(np.argmax(np.abs(ms - mr) / spread))
    return {"name": NAMES[i], "sim": round(float(ms[i]), 4), "real": round(float(mr[i]), 4),
            "spreads": round(float(abs(ms[i] - mr[i]) / spread[i]), 2)}


def pct(share: float) -> str:
    return f"{100 * share:.1f} %" if 0 < share < 0.1 else f"{100 * share:.0f} %"


def describe(name: str, sim: LabelStats, real: LabelStats) -> str:
    """One statistic of both sets in plain words (medians, means or shares)."""
    def med(st: LabelStats) -> float:
        return float(np.median(st.values(name)))

    if name == "size":
        return f"the renders' median box is {med(sim):.2f} of the frame side, the photos' {med(real):.2f}"
    if name == "aspect":
        return (f"the median box is {math.exp(med(sim)):.2f} times as wide as high in the renders, "
                f"{math.exp(med(real)):.2f} in the photos")
    if name == "count":
        return (f"renders {sim.count.mean():.1f} on average (median {med(sim):.0f}), "
                f"photos {real.count.mean():.1f} (median {med(real):.0f})")
    if name in ("cx", "cy"):
        side = "width" if name == "cx" else "height"
        return f"the median centre lies at {med(sim):.2f} of the {side} in the renders, {med(real):.2f} in the photos"
    if name == "classes":
        names = sorted(set(sim.classes) | set(real.classes))
        ps, pr = sim.class_shares(names), real.class_shares(names)
        c = max(names, key=lambda n: abs(ps[n] - pr[n]))
        return f"the largest gap is {c}, {pct(ps[c])} of the renders' boxes and {pct(pr[c])} of the photos'"
    return (f"{pct(float(sim.truncated.mean()))} of the renders' boxes touch the frame, "
            f"{pct(float(real.truncated.mean()))} of the photos'")


def verdict(sim: LabelStats | None, real: LabelStats | None, dists: Mapping[str, float] | None, camera: Mapping,
            cover: Mapping, *, p: Mapping[str, float] | None = None, real_labelled: bool = True,
            sim_labelled: bool = True) -> str:
    """A few sentences: the label statistics that differ most (ranked by distance; a distance
    of ``AGREE`` or more counts unless its p-value says chance alone gives it), the camera and
    the coverage, with numbers in words."""
    lines = []
    if dists is None or sim is None or real is None:
        which = "the photos have" if not real_labelled else "the renders have"
        if not real_labelled and not sim_labelled:
            which = "neither set has"
        lines.append(f"Label statistics skipped: {which} no labels (a labelled share of the photos, even a tenth, "
                     "is enough to compare them).")
    else:
        p = p or {}
        ranked = sorted(((v, k) for k, v in dists.items() if v == v), reverse=True)
        large = [(v, k) for v, k in ranked if v >= AGREE]
        differ = [(v, k) for v, k in large if p.get(k, 0.0) < SIGNIFICANCE]
        chance = [(v, k) for v, k in large if (v, k) not in differ]
        if not large:
            lines.append(f"Label statistics agree (all distances < {AGREE}).")
        elif not differ:
            lines.append(f"Label statistics agree within sampling noise (every distance of {AGREE} or more is "
                         f"likely by chance at these set sizes, p >= {SIGNIFICANCE}).")
        for n, (v, k) in enumerate(differ[:3]):
            lead = f"{SHORT[k][0].upper()}{SHORT[k][1:]} differs most" if n == 0 else f"Then {SHORT[k]}"
            lines.append(f"{lead} ({MEASURE[k]} {v:.2f}): {describe(k, sim, real)}.")
        if len(differ) > 3:
            lines.append("Also above " + f"{AGREE}: " + ", ".join(f"{SHORT[k]} ({v:.2f})" for v, k in differ[3:]) + ".")
        if chance and differ:
            lines.append(f"Within sampling noise at these set sizes (p >= {SIGNIFICANCE}): "
                         + ", ".join(f"{SHORT[k]} ({v:.2f})" for v, k in chance) + ".")
    c2st, big = camera.get("stats_c2st"), camera.get("largest") or {}
    if c2st is not None and c2st == c2st:
        lines.append(f"Camera statistics: a logistic regression tells renders from photos with balanced accuracy "
                     f"{c2st:.2f} (0.5 = alike); the statistic furthest apart is {big.get('name')} (median {big.get('sim'):.2g} "
                     f"in the renders, {big.get('real'):.2g} in the photos).")
    value = cover.get("value")
    if value is None:
        lines.append("Coverage not measured: it needs at least two readable photos.")
    elif value >= 0.95:
        lines.append(f"Coverage {value:.2f}: nearly every photo has a render near it.")
    else:
        lines.append(f"Coverage {value:.2f}: {pct(1 - value)} of the photos have no render near them, "
                     "see coverage_worst.png.")
    return " ".join(lines)


def analysis_metrics(result: Mapping | None) -> dict[str, float]:
    """The figures the pipeline's metrics.json keeps: ``analysis.<statistic>`` distances,
    ``analysis.coverage`` and ``analysis.stats_c2st`` (finite ones only)."""
    if not result:
        return {}
    out = {f"analysis.{k}": float(v) for k, v in ((result.get("labels") or {}).get("distances") or {}).items()}
    out["analysis.coverage"] = (result.get("coverage") or {}).get("value")
    out["analysis.stats_c2st"] = (result.get("camera") or {}).get("stats_c2st")
    return {k: float(v) for k, v in out.items() if isinstance(v, (int, float)) and v == v}


def for_pipeline(cfg: DictConfig, paths: Mapping, out_dir: Path) -> dict:
    """The pipeline's analysis: its sim set against the real training pool (or the unlabelled
    photos when there is none); the test split is never compared, nothing may tune on it."""
    from sim2real.records import parse_class_map

    real = paths.get("real_train") or paths["real"]
    return analyze(paths["sim"], real, out_dir, max_images=int(cfg.report.analysis_images), seed=int(cfg.seed),
                   class_map=parse_class_map(cfg.data.class_map), ignore_labels=list(cfg.data.ignore_labels))


def run(cfg: DictConfig) -> dict:
    from sim2real.records import parse_class_map

    result = analyze(cfg.sim, cfg.real, cfg.out_dir, max_images=int(cfg.max_images), seed=int(cfg.seed),
                     worst=int(cfg.worst), k=int(cfg.k), class_map=parse_class_map(cfg.class_map),
                     ignore_labels=list(cfg.ignore_labels))
    print(result["verdict"])
    for name, path in result["files"].items():
        print(f"{name}: {path}")
    return result


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="analyze")
@guarded
def main(cfg: DictConfig) -> dict:
    return run(cfg)


if __name__ == "__main__":
    main()
