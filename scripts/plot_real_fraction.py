"""The real-data curve: test mAP against the fraction of real training images, one line per
training mix (the baseline-curve method), from the metrics.json files of a sweep such as

    sim2real-train -m data.real_fraction=0,0.05,0.1,0.25,0.5,1 'data.train=[data/sim],[]' \
        data.real_train=data/real_train data.test=data/real_test out_dir=runs/curve
    python scripts/plot_real_fraction.py runs/curve --out real_fraction.png

Each run's ``_run`` block says what it trained on: the synthetic sources name the mix (no source
= "real only") and ``real_fraction`` is the x value. Reading a point off the curve: where the
"sim + real" line reaches the "real only" line's best value tells how much real labelling the
synthetic data saves.
"""
from __future__ import annotations

import argparse
import json
import logging
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

log = logging.getLogger("plot_real_fraction")


def find_metrics(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found.extend(sorted(path.rglob("metrics.json")))
        else:
            raise SystemExit(f"error: {path} does not exist")
    if not found:
        raise SystemExit(f"error: no metrics.json under {', '.join(map(str, paths))}")
    return found


def mix_label(run: dict) -> str:
    sources = run.get("train_sources") or []
    synthetic = " + ".join(sources) if sources else ""
    if not synthetic:
        return "real only"
    return f"{synthetic} + real ({run.get('schedule', 'merged')})"


def collect(files: list[Path], metric: str) -> dict[str, list[tuple[float, float]]]:
    curves: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for file in files:
        data = json.loads(file.read_text())
        run = data.get("_run", {})
        value = data.get(metric)
        if value is None or "real_fraction" not in run:
            log.warning("%s: no %s or no _run.real_fraction; skipped", file, metric)
            continue
        curves[mix_label(run)].append((float(run["real_fraction"]), float(value)))
    return {k: sorted(v) for k, v in curves.items()}


def plot(curves: dict[str, list[tuple[float, float]]], metric: str, out: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 4), dpi=130)
    for label, points in sorted(curves.items()):
        xs, ys = zip(*points)
        ax.plot(xs, ys, marker="o", label=label)
    ax.set(xlabel="fraction of the real training split used", ylabel=metric,
           title=f"{metric} on the real test set vs real training data")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="mAP vs real fraction per training mix, from metrics.json files")
    parser.add_argument("paths", nargs="+", type=Path, help="metrics.json files or folders holding them (recursively)")
    parser.add_argument("--metric", default="test/map50")
    parser.add_argument("--out", type=Path, default=Path("real_fraction.png"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    curves = collect(find_metrics(args.paths), args.metric)
    if not curves:
        raise SystemExit(f"error: no run has {args.metric} and _run.real_fraction")
    plot(curves, args.metric, args.out)
    summary = args.out.with_suffix(".json")
    summary.write_text(json.dumps({"metric": args.metric, "curves": curves}, indent=2))
    log.info("wrote %s and %s (%d mixes)", args.out, summary, len(curves))


if __name__ == "__main__":
    main()
