"""The pipeline's outputs a person reads: ``metrics.json`` and a self-contained ``report.html``."""
from __future__ import annotations

import base64
import html
import io
import logging
from pathlib import Path
from typing import Mapping, Protocol, Sequence

import numpy as np
from PIL import Image

from pipeline.mixes import parse_mix
from sim2real import atomic
from sim2real.dataset import DatasetReader
from sim2real.images import list_images, read_rgb
from sim2real.readers import load_unlabelled

log = logging.getLogger(__name__)


def collect_metrics(refine: Mapping, detectors: Mapping[str, Mapping], timings: Mapping[str, float],
                    analysis: Mapping | None = None) -> dict:
    """Flat ``metrics.json``: detector.<mix>.<metric>, realism.*, labels.*, analysis.* (the domain
    analysis's distances and coverage), timing_s.<stage>."""
    from pipeline.analyze import analysis_metrics

    metrics: dict[str, float] = {}
    for mix, result in detectors.items():
        for key, value in result.get("metrics", {}).items():
            # slices stay in each detector's own metrics.json (and the report's slice table)
            if key.startswith("test/") and "slice/" not in key and isinstance(value, (int, float)):
                metrics[f"detector.{mix}.{key[len('test/'):]}"] = float(value)
    for key, value in refine.get("metrics", {}).items():
        if isinstance(value, (int, float)):
            metrics[key] = float(value)
    metrics.update(analysis_metrics(analysis))
    for stage, seconds in timings.items():
        metrics[f"timing_s.{stage}"] = float(seconds)
    return metrics


def _png_data_uri(img: np.ndarray | Image.Image | Path) -> str:
    if isinstance(img, Path):
        data = img.read_bytes()
    else:
        buf = io.BytesIO()
        (img if isinstance(img, Image.Image) else Image.fromarray(img)).save(buf, format="PNG")
        data = buf.getvalue()
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _in_cell(img: np.ndarray, h: int, w: int) -> np.ndarray:
    cell = np.full((h, w, 3), 255, np.uint8)
    y0, x0 = (h - img.shape[0]) // 2, (w - img.shape[1]) // 2
    cell[y0:y0 + img.shape[0], x0:x0 + img.shape[1]] = img
    return cell


def sample_grid(rows: Mapping[str, Sequence[Path]], *, scale: int = 2) -> np.ndarray:
    """One row per domain, the same number of images in each; gaps between tiles. Images of
    other sizes are centred in a cell of the largest height and width (white around them)."""
    tiles = []
    loaded = [[read_rgb(p) for p in paths] for paths in rows.values()]
    h = max(im.shape[0] for imgs in loaded for im in imgs)
    w = max(im.shape[1] for imgs in loaded for im in imgs)
    for imgs in loaded:
        cells = [_in_cell(im, h, w) for im in imgs]
        pad = np.full((h, 4, 3), 255, np.uint8)
        row = np.concatenate([x for im in cells for x in (im, pad)][:-1], axis=1)
        tiles += [row, np.full((4, row.shape[1], 3), 255, np.uint8)]
    grid = np.concatenate(tiles[:-1], axis=0)
    return np.asarray(Image.fromarray(grid).resize((grid.shape[1] * scale, grid.shape[0] * scale), Image.NEAREST))


def real_fraction_figure(metrics: Mapping[str, float], out_png: Path, key: str = "map50") -> Path | None:
    """mAP against the fraction of real data, one line per synthetic source (plus real only)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines: dict[str, list[tuple[float, float]]] = {}
    for name in {k.split(".")[1] for k in metrics if k.startswith("detector.")}:
        value = metrics.get(f"detector.{name}.{key}")
        if value is None:
            continue
        mix = parse_mix(name)
        family = "+".join(mix.synthetic) + " + real" if mix.synthetic else "real only"
        lines.setdefault(family, []).append((mix.real_fraction, value))
    if not lines:
        return None
    fig, ax = plt.subplots(figsize=(5.5, 4), dpi=110)
    for family, pts in sorted(lines.items()):
        pts.sort()
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=family)
    ax.set_xlabel("fraction of the labelled real training pool")
    ax.set_ylabel(f"{key} on the real test split")
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(out_png)
    plt.close(fig)
    return out_png


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def cell(v: object) -> str:
        return f"{v:.3f}" if isinstance(v, float) else html.escape(str(v))

    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def timing_rows(metrics: Mapping[str, object]) -> list[list[str]]:
    """Whole seconds per stage, then the total (a reused stage counts its near-zero check)."""
    seconds = {k[len("timing_s."):]: float(v) for k, v in metrics.items() if k.startswith("timing_s.")}
    if not seconds:
        return []
    total = sum(seconds.values())
    return [[stage, f"{s:.0f}"] for stage, s in seconds.items()] + [["total", f"{total:.0f} ({total / 60:.1f} min)"]]


def summary_rows(metrics: Mapping[str, object]) -> list[list[object]]:
    """The gap in a few numbers: what refinement bought against sim, against the in-domain ceiling
    (``real100``: what the detector gets from real training images themselves), and in realism."""
    def get(key: str) -> float | None:
        value = metrics.get(key)
        return float(value) if isinstance(value, (int, float)) and value == value else None

    rows: list[list[object]] = []
    sim, refined, ceiling = (get(f"detector.{m}.map50") for m in ("sim", "refined", "real100"))
    if sim is not None and refined is not None:
        rows.append(["refined − sim, mAP50", f"{refined - sim:+.3f}"])
    if sim is not None and ceiling is not None:
        rows.append(["real100 − sim, mAP50 (training on real images: the ceiling for refinement)", f"{ceiling - sim:+.3f}"])
    if sim is not None and refined is not None and ceiling is not None:
        rows.append(["share of the sim → real100 gap that refinement closed", gap_closed(sim, refined, ceiling)])
    real10, best10 = get("detector.real10.map50"), get("detector.refined+real10.map50")
    if real10 is not None and best10 is not None:
        rows.append(["refined+real10 − real10, mAP50 (what the renders add to a tenth of the photos)",
                     f"{best10 - real10:+.3f}"])
    for name in ("c2st", "stats_c2st"):
        before, after = get(f"realism.{name}.sim"), get(f"realism.{name}.refined")
        if before is not None and after is not None:
            rows.append([f"{name}: sim → refined (0.5 = like real)", f"{before:.3f} → {after:.3f}"])
    if (kept := get("labels.preservation")) is not None:
        rows.append(["label preservation (1 = all kept)", f"{kept:.3f}"])
    elif get("labels.iou_sim") == 0.0:
        rows.append(["label preservation (1 = all kept)",
                     "not measured: the task net found no object on the renders (IoU 0)"])
    return rows


GAP_MIN = 0.02  # mAP50: the claim's own margin (docs/benchmarks.md, the built-in domain)


def gap_closed(sim: float, refined: float, ceiling: float) -> str:
    """Plain words for ``(refined - sim) / (real100 - sim)``; no share of a gap under GAP_MIN."""
    gap = ceiling - sim
    if abs(gap) < GAP_MIN:  # a share of one point is noise: the calibrated default's gap is 1-2 points
        return f"no gap to close: real100 scores {ceiling:.3f}, sim {sim:.3f}, within {GAP_MIN:.2f} mAP50"
    share = (refined - sim) / gap
    if gap < 0:
        return f"none: sim ({sim:.3f}) already beats real100 ({ceiling:.3f})"
    return f"{share:.0%} (sim {sim:.3f} → refined {refined:.3f}, real100 {ceiling:.3f})"


def camera_rows(metrics: Mapping[str, object]) -> list[list[object]]:
    """The camera refiner's learned effects (``camera.<effect>`` and ``.spread``), one row each."""
    names = [k[len("camera."):] for k in metrics if k.startswith("camera.") and not k.endswith(".spread")]
    return [[n, metrics[f"camera.{n}"], metrics.get(f"camera.{n}.spread", "-")] for n in names]


def slice_rows(detectors: Mapping[str, Mapping]) -> tuple[list[str], list[list[object]]]:
    """Slice metrics of every mix as one table: rows are slices, columns are mixes (mAP50)."""
    per_mix: dict[str, dict[str, float]] = {}
    for mix, result in detectors.items():
        for key, value in result.get("metrics", {}).items():
            if key.startswith("test/slice/") and key.endswith("/map50") and isinstance(value, (int, float)):
                per_mix.setdefault(mix, {})[key[len("test/slice/"):-len("/map50")]] = float(value)
    mixes = list(per_mix)
    slices = sorted({s for m in per_mix.values() for s in m})
    return ["slice", *mixes], [[s, *[per_mix[m].get(s, "-") for m in mixes]] for s in slices]


CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
td:first-child,th:first-child{text-align:left}img{max-width:100%}h2{margin-top:1.6em}.note{color:#a40}
.verdict{background:#f4f4f4;padding:.6em .9em;border-left:4px solid #888}"""


class Run(Protocol):
    """What the report reads of the running pipeline (pipeline.run.Pipeline)."""

    out: Path
    cfg: object
    group: str
    notes: list[str]


def analysis_section(analysis: Mapping) -> str:
    """The domain analysis (pipeline/analyze.py): its verdict, the distances with each set's
    medians, the label figures, the coverage and its worst-covered photos."""
    from pipeline.analyze import MEASURE
    from sim2real.label_stats import LABELS

    parts = ["<h2>Domain analysis: sim against the real training pool</h2>",
             f"<p class='verdict'>{html.escape(analysis['verdict'])}</p>"]
    labels = analysis.get("labels")
    if labels:
        def median(side: str, name: str) -> object:
            summary = labels[side]
            if name == "classes":
                return "-"
            if name == "truncated":
                return summary.get("truncated_share", "-")
            value = summary["median"].get(name)
            return "-" if value is None else value

        ranked = sorted(labels["distances"].items(), key=lambda kv: -kv[1] if kv[1] == kv[1] else 1.0)
        p = labels.get("p_values", {})
        rows = [[LABELS[k], MEASURE[k], v, p.get(k, "-"), median("sim", k), median("real", k)] for k, v in ranked]
        parts.append("<p>One distance per label statistic on [0, 1] (0 = alike), and how likely chance alone "
                     "gives it at these set sizes (p); the medians (for truncation, the share of boxes touching "
                     "the frame) of renders and photos. See docs/analyze.md.</p>"
                     + _table(["statistic", "measure", "distance", "p", "renders (median)", "photos (median)"], rows))
    files = analysis.get("files", {})
    for key, alt in (("label_stats", "label statistics"), ("centres", "box centres")):
        if files.get(key) and Path(files[key]).is_file():
            parts.append(f"<img alt='{alt}' src='{_png_data_uri(Path(files[key]))}'>")
    cover = analysis.get("coverage") or {}
    if cover.get("value") is not None:
        parts.append(f"<h3>Coverage {cover['value']:.2f}</h3><p>The share of photos with a render inside their "
                     f"{cover['k']}-nearest-photo radius, in random ResNet-18 features (Naeem et al. 2020; two "
                     "halves of one set score about 0.95). Below, the worst-covered photos, each above its "
                     "nearest render: ratio = distance to that render / the photo's radius.</p>")
    if files.get("coverage_worst") and Path(files["coverage_worst"]).is_file():
        parts.append(f"<img alt='coverage worst' src='{_png_data_uri(Path(files['coverage_worst']))}'>")
    return "".join(parts)


def write_report(pipe: Run, paths: Mapping, refined_dir: Path | None, refine: Mapping,
                 detectors: Mapping[str, Mapping], metrics: dict, analysis: Mapping | None = None) -> Path:
    from sim2real.camera_stats import median_rows
    from pipeline.gap import tsne_plot

    out, rcfg = pipe.out, pipe.cfg.report
    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    sim = DatasetReader(paths["sim"])
    n = min(rcfg.samples, len(sim))
    idx = np.linspace(0, len(sim) - 1, n).astype(int)
    real_paths = load_unlabelled(paths["real"])
    # without a refine stage (no mix trains on refined images) the refined domain is left out
    refined = {} if refined_dir is None else {"refined": list_images(refined_dir / "images")}
    rows = {"sim": [sim.records[i].image_path for i in idx],
            **({"refined": [refined_dir / "images" / sim.records[i].image_path.name for i in idx]} if refined else {}),
            "real": [real_paths[i] for i in np.linspace(0, len(real_paths) - 1, n).astype(int)]}
    grid = sample_grid(rows)
    Image.fromarray(grid).save(figures / "samples.png")
    domains = {"sim": [r.image_path for r in sim.records], **refined, "real": real_paths}
    tsne = tsne_plot(domains, figures / "tsne.png", per_domain=rcfg.tsne_per_domain, seed=pipe.cfg.seed,
                     title="t-SNE of random ResNet-18 features")
    fraction_png = real_fraction_figure(metrics, figures / "real_fraction.png")

    parts = [f"<h1>sim2real report: {html.escape(pipe.group)}</h1>"]
    parts += [f"<p class='note'>{html.escape(note)}</p>" for note in pipe.notes]
    if summary := summary_rows(metrics):
        parts.append("<h2>Summary</h2>" + _table(["", "value"], summary))
    parts.append(f"<h2>Samples: {' | '.join(rows)}</h2>")
    parts.append(f"<img alt='samples' src='{_png_data_uri(grid)}'>")
    det_rows = [[mix, metrics.get(f"detector.{mix}.map50", "-"), metrics.get(f"detector.{mix}.map", "-"),
                 metrics.get(f"detector.{mix}.map75", "-")] for mix in detectors]
    parts.append("<h2>Detectors on the real test split</h2>")
    parts.append(_table(["training mix", "mAP50", "mAP", "mAP75"], det_rows) if det_rows else
                 "<p>No detector was scored (no labelled real test set).</p>")
    if fraction_png:
        parts.append(f"<img alt='real fraction' src='{_png_data_uri(fraction_png)}'>")
    for mix, result in detectors.items():
        grid_png = (result.get("plots") or {}).get("predictions")
        if mix in ("refined", "sim") and grid_png and Path(grid_png).is_file():
            parts.append(f"<h3>Predictions of the {html.escape(mix)} detector on real test images</h3>"
                         f"<img alt='predictions {html.escape(mix)}' src='{_png_data_uri(Path(grid_png))}'>")
    header, srows = slice_rows(detectors)
    if srows:
        parts.append("<h2>mAP50 per slice of the scene parameters</h2>" + _table(header, srows))
    gap = [[k, v] for k, v in metrics.items() if k.startswith(("realism.", "labels."))]
    parts.append("<h2>Gap diagnostics</h2><p>Classifier two-sample test (<code>c2st</code>): balanced accuracy "
                 "of a small CNN telling real from the other domain on held-out images (0.5 = "
                 "indistinguishable); <code>stats_c2st</code>: the same test by a logistic regression on the "
                 "camera statistics below, blind to content. Label preservation: a frozen task network's mask IoU on refined images relative to "
                 "sim images (1.0 = labels fully kept).</p>" + _table(["metric", "value"], gap))
    parts.append(f"<img alt='t-SNE' src='{_png_data_uri(tsne)}'>")
    header, crows = median_rows(domains)
    parts.append("<h2>Camera statistics (median per image)</h2><p>Intensities on [0, 1]; noise is the median "
                 "absolute Laplacian of the grey image, vignetting the centre over border brightness. "
                 "<code>realism.stats_c2st</code> above is a logistic regression on these alone.</p>"
                 + _table(header, crows))
    if analysis:
        parts.append(analysis_section(analysis))
    if camera := camera_rows(metrics):
        parts.append("<h2>What the camera refiner learned</h2><p>Each effect's mean (blur sigma in pixels; "
                     "gains and gamma, contrast, saturation as factors; noise std on [0, 1]) and its spread "
                     "over images (standard deviation in log space: 0.05 is about ±5 %).</p>"
                     + _table(["effect", "mean", "spread"], camera))
    parts.append("<h2>Timings</h2>" + _table(["stage", "seconds"], timing_rows(metrics)))
    doc = (f"<!doctype html><html><head><meta charset='utf-8'><title>sim2real report</title>"
           f"<style>{CSS}</style></head><body>{''.join(parts)}</body></html>")
    path = out / "report.html"
    atomic.write_text(path, doc)
    return path
