"""What the self-training phase adds, paired per run: each mix's checkpoint before the phase against
the one after it, and (``--control``) against the same phase trained without pseudo-labels.

    python scripts/bench_self_training.py runs/bench_cards_st --seeds 0 1 2 [--control runs/st_control]

``<bench>`` is a ``scripts/bench_real.py`` output run with ``train.self_training=true``: per seed
``seed<k>/detectors/<mix>/checkpoints/{merged|finetune,pseudo1}/best.ckpt``. ``--control`` holds
``seed<k>/<mix>/checkpoints/pseudo1/best.ckpt`` from the pipeline's fine-tuning command for that
mix (in the pipeline's log) rerun with ``pseudo.share=0.01 out_dir=<control>/seed<k>/<mix>``.
Every checkpoint is scored by ``sim2real-predict`` on ``--test`` (default
``<bench>/data/real_test_imported``); scores are cached next to the output. Writes
``<bench>/self_training.json`` (mAP50 per seed, mean ± sd, paired differences) and a table.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from bench_real import mean_sd  # scripts/ is on the path when this file runs
from sim2real import atomic

BEFORE = ("finetune", "merged")  # the fine-tuning phase's checkpoint, else the single phase's


def score(ckpt: Path, test: Path, out: Path) -> float:
    metrics = out / "metrics.json"
    if not metrics.is_file():
        command = [str(Path(sys.executable).parent / "sim2real-predict"), f"ckpt={ckpt}", f"images={test}",
                   f"out_dir={out}", "draw=false"]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return json.loads(metrics.read_text())["metrics"]["map50"]


def checkpoints(bench: Path, control: Path | None, seed: int, mix: str) -> dict[str, Path]:
    """The arms found for one seed and mix: ``before``, ``self_training`` and ``control``."""
    ckpts = bench / f"seed{seed}" / "detectors" / mix / "checkpoints"
    candidates = {"before": [ckpts / b / "best.ckpt" for b in BEFORE],
                  "self_training": [ckpts / "pseudo1" / "best.ckpt"],
                  "control": [control / f"seed{seed}" / mix / "checkpoints" / "pseudo1" / "best.ckpt"] if control else []}
    return {arm: found for arm, paths in candidates.items()
            if (found := next((p for p in paths if p.is_file()), None))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bench", type=Path, help="a bench_real.py output run with train.self_training=true")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--control", type=Path, help="the phase rerun with pseudo.share=0.01, per seed and mix")
    ap.add_argument("--test", type=Path, help="the labelled test photos (default <bench>/data/real_test_imported)")
    args = ap.parse_args(argv)
    test = args.test or args.bench / "data" / "real_test_imported"
    for path, what in ((args.bench, "bench"), (test, "--test")):
        if not path.exists():
            ap.error(f"{what}: {path} does not exist")
    cache = args.bench / "self_training_scores"
    mixes = sorted({p.name for s in args.seeds for p in (args.bench / f"seed{s}" / "detectors").glob("*")
                    if (p / "checkpoints" / "pseudo1").is_dir()})
    if not mixes:
        ap.error(f"{args.bench}: no detector with a self-training checkpoint (checkpoints/pseudo1)")
    scores: dict[str, dict[str, dict[int, float]]] = {}
    for mix in mixes:
        for seed in args.seeds:
            for arm, ckpt in checkpoints(args.bench, args.control, seed, mix).items():
                value = score(ckpt, test, cache / arm / f"seed{seed}" / mix)
                scores.setdefault(mix, {}).setdefault(arm, {})[seed] = value
                print(f"{mix:<16} seed {seed} {arm:<14} {value:.3f}", flush=True)
    summary = {"bench": str(args.bench), "control": str(args.control) if args.control else None,
               "test": str(test), "seeds": args.seeds, "map50": {}, "differences": {}}
    for mix, arms in scores.items():
        summary["map50"][mix] = {arm: mean_sd([v[s] for s in sorted(v)]) for arm, v in arms.items()}
        for left, right in (("self_training", "before"), ("control", "before"), ("self_training", "control")):
            seeds = [s for s in args.seeds if s in arms.get(left, {}) and s in arms.get(right, {})]
            if seeds:
                summary["differences"].setdefault(mix, {})[f"{left} - {right}"] = mean_sd(
                    [arms[left][s] - arms[right][s] for s in seeds])
    atomic.write_json(args.bench / "self_training.json", summary, indent=2)
    print(f"\nmAP50 on {test}, mean ± sd over seeds {args.seeds}")
    for mix, arms in summary["map50"].items():
        print(f"  {mix:<16} " + "  ".join(f"{arm} {v['mean']:.3f} ± {v['sd']:.3f}" for arm, v in arms.items()))
        for name, v in summary["differences"].get(mix, {}).items():
            print(f"    {name:<26} {v['mean']:+.3f} ± {v['sd']:.3f}  {v['values']}")
    print(f"written {args.bench / 'self_training.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
