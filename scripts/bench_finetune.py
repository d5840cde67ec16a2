"""Fine-tuning rules side by side on a finished ``bench_real.py`` run: same pretrained base, same photos.

    python scripts/bench_finetune.py runs/bench_cubes --seeds 0 1 2 [--mixes sim+real10 refined+real10] \
        [--rules one_cycle photos_only old_default] [--out runs/bench_cubes/finetune_rules]

Each fine-tuned mix of each seed is run again with ``sim2real-train`` exactly as the pipeline ran it
(the overrides its ``.stages/train_<mix>.json`` recorded: the same ``init`` checkpoint, photos and test
split), with one rule's overrides appended, into ``<out>/<rule>/seed<k>/<mix>``. The bench's own result
is the rule ``as_run``. Writes ``<out>/bench_finetune.json`` (mAP50 per rule, mix and seed; mean, spread
and the paired difference from ``as_run``) and prints a table.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from pipeline.stages import run_parallel
from bench_real import mean_sd  # scripts/ is on the path when run as a script

RULES = {  # name: the overrides appended to the pipeline's own for the mix
    "one_cycle": ["finetune.cycles=1"],
    "photos_only": ["finetune.synthetic_share=0"],
    # what a run on the user's own photos got before the measured rule became the default
    "old_default": ["finetune.max_epochs=5", "finetune.lr_scale=0.3", "finetune.synthetic_share=0",
                    "finetune.cycles=1"],
}


def recorded(bench: Path, seed: int, mix: str) -> dict:
    marker = bench / f"seed{seed}" / ".stages" / f"train_{mix}.json"
    if not marker.is_file():
        raise SystemExit(f"{marker}: no finished run of {mix!r} for seed {seed} (run bench_real.py first)")
    return json.loads(marker.read_text())


def rerun_overrides(record: dict, rule: list[str], out_dir: Path) -> list[str]:
    kept = [o for o in record["overrides"] if not o.startswith(("out_dir=", "ckpt_path="))]
    if not any(o.startswith("init=") for o in kept):
        raise SystemExit(f"the recorded run has no init= (not a fine-tuned mix): {record['overrides']}")
    return [*kept, *rule, f"out_dir='{out_dir}'", "ckpt_path=last"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bench", type=Path, help="a bench_real.py --out folder")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--mixes", nargs="+", default=["sim+real10", "refined+real10"])
    ap.add_argument("--rules", nargs="+", default=list(RULES), choices=list(RULES))
    ap.add_argument("--out", type=Path, help="default <bench>/finetune_rules")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    bench = args.bench.resolve()
    out = (args.out or bench / "finetune_rules").resolve()
    records = {(s, m): recorded(bench, s, m) for s in args.seeds for m in args.mixes}  # all checked before work
    scores = {"as_run": {m: {s: records[s, m]["result"]["metrics"]["test/map50"] for s in args.seeds}
                         for m in args.mixes}}
    for rule in args.rules:
        runs = {f"{rule}/seed{s}/{m}": rerun_overrides(records[s, m], RULES[rule], out / rule / f"seed{s}" / m)
                for s in args.seeds for m in args.mixes}
        results = run_parallel("train", runs, state_dir=out / ".stages", jobs=args.jobs)
        scores[rule] = {m: {s: results[f"{rule}/seed{s}/{m}"]["metrics"]["test/map50"] for s in args.seeds}
                        for m in args.mixes}
    summary = {"bench": str(bench), "rules": {"as_run": [], **{r: RULES[r] for r in args.rules}}, "table": {}}
    for rule, per_mix in scores.items():
        summary["table"][rule] = {}
        for mix, per_seed in per_mix.items():
            diffs = [per_seed[s] - scores["as_run"][mix][s] for s in args.seeds]
            summary["table"][rule][mix] = {**mean_sd(list(per_seed.values())), "minus_as_run": mean_sd(diffs)}
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_finetune.json").write_text(json.dumps(summary, indent=2))
    print(f"\nmAP50 on the test split, mean ± sd over seeds {args.seeds} (paired difference from as_run)")
    for rule, per_mix in summary["table"].items():
        cells = [f"{mix} {v['mean']:.3f} ± {v['sd']:.3f} ({v['minus_as_run']['mean']:+.3f} ± {v['minus_as_run']['sd']:.3f})"
                 for mix, v in per_mix.items()]
        print(f"  {rule:12s} " + "   ".join(cells))
    print(f"\nwritten {out / 'bench_finetune.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
