"""The claim on one real set over seeds: ``sim2real experiment=real_<set>`` per seed, renders shared.

    python scripts/bench_real.py lmo --seeds 0 1 2 [--root ../shared/real/lmo] [--out runs/bench_lmo] \
        [-- extra sim2real overrides]
    python scripts/bench_real.py builtin --seeds 0 1 2   # plain ``sim2real``: the built-in proxy-real domain

Every seed runs the whole pipeline into ``<out>/seed<k>`` with ``data_dir=<out>/data`` (or ``--data``; the
renders, the imported photos and the split are made once; ``seed`` is the refiner's and the
detectors' training seed). Then mAP50 per mix (mean and spread over seeds), the claim's
differences per seed, the realism tests and the wall time go to ``<out>/bench_real.json``,
and a table to stdout. ``--collect`` only reads finished runs.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from pipeline.report import GAP_MIN

ROOT = Path(__file__).resolve().parents[1]
CLAIMS = {  # name: (left - right >= margin), all in mAP50
    "refined - sim >= +0.05": ("refined", "sim", 0.05),
    "sim+real10 - real10 >= 0": ("sim+real10", "real10", 0.0),
    "refined+real10 - real10 >= +0.02": ("refined+real10", "real10", 0.02),
    "refined+real10 - real100 >= -0.02": ("refined+real10", "real100", -0.02),
}


def run_seed(sets: list[str], out: Path, data: Path, seed: int, extra: list[str]) -> float:
    """``sets``: the overrides naming the experiment and its photos (none for the built-in domain)."""
    command = [str(Path(sys.executable).parent / "sim2real"), *sets,
               f"seed={seed}", f"out_dir={out / f'seed{seed}'}", f"data_dir={data}", *extra]
    print("+", " ".join(command), flush=True)
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - start


def mean_sd(values: list[float]) -> dict:
    vals = [v for v in values if v is not None]
    if not vals:
        return {"mean": None, "sd": None, "n": 0}
    return {"mean": round(statistics.fmean(vals), 4), "sd": round(statistics.stdev(vals), 4) if len(vals) > 1 else 0.0,
            "n": len(vals), "values": [round(v, 4) for v in vals]}


def summarise(runs: dict[int, dict], walls: dict[int, float]) -> dict:
    mixes = sorted({k.split(".")[1] for m in runs.values() for k in m if k.startswith("detector.") and k.endswith(".map50")})
    table = {mix: mean_sd([m.get(f"detector.{mix}.map50") for m in runs.values()]) for mix in mixes}
    claims = {}
    for claim, (left, right, margin) in CLAIMS.items():
        diffs = [m[f"detector.{left}.map50"] - m[f"detector.{right}.map50"] for m in runs.values()
                 if f"detector.{left}.map50" in m and f"detector.{right}.map50" in m]
        claims[claim] = {**mean_sd(diffs), "holds_every_seed": bool(diffs) and all(d >= margin for d in diffs)}
    realism = {k: mean_sd([m.get(k) for m in runs.values()]) for k in
               ("realism.c2st.sim", "realism.c2st.refined", "realism.stats_c2st.sim", "realism.stats_c2st.refined",
                "labels.preservation")}
    gap = [(m["detector.refined.map50"] - m["detector.sim.map50"]) / (m["detector.real100.map50"] - m["detector.sim.map50"])
           for m in runs.values() if all(f"detector.{x}.map50" in m for x in ("sim", "refined", "real100"))
           and abs(m["detector.real100.map50"] - m["detector.sim.map50"]) >= GAP_MIN]  # as the report: no share of noise
    stages = {str(k): {key[len("timing_s."):]: round(v) for key, v in m.items() if key.startswith("timing_s.")}
              for k, m in runs.items()}  # what each seed's stages took (a reused stage takes ~0)
    return {"seeds": sorted(runs), "map50": table, "claims": claims, "realism": realism,
            "share_of_gap_closed": mean_sd(gap), "wall_s": {str(k): round(v, 1) for k, v in walls.items()},
            "stage_s": stages}


def print_table(name: str, s: dict) -> None:
    print(f"\n{name}: mAP50 on the real test split, mean ± sd over seeds {s['seeds']}")
    for mix, v in s["map50"].items():
        print(f"  {mix:<18} {v['mean']:.3f} ± {v['sd']:.3f}   {v.get('values')}")
    print("claims (per-seed differences):")
    for claim, v in s["claims"].items():
        if v["n"]:
            print(f"  {claim:<36} {v['mean']:+.3f} ± {v['sd']:.3f}  {'holds' if v['holds_every_seed'] else 'FAILS'}"
                  f"  {v['values']}")
    for key, v in s["realism"].items():
        if v["n"]:
            print(f"  {key:<36} {v['mean']:.3f} ± {v['sd']:.3f}")
    if s["share_of_gap_closed"]["n"]:
        share = s["share_of_gap_closed"]
        print(f"  share of the sim -> real100 gap closed by refinement: {share['mean']:+.2f}"
              f" (mean over the {share['n']} of {len(s['seeds'])} seeds whose gap is >= {GAP_MIN})")
    if s["wall_s"]:
        print(f"  wall time per seed (s): {s['wall_s']}")
    print(f"  stage times per seed (s): {s['stage_s']}")


def across_seeds_html(name: str, s: dict) -> str:
    """The summary as an HTML section for each seed's report.html."""
    rows = "".join(f"<tr><td>{mix}</td><td>{v['mean']:.3f} ± {v['sd']:.3f}</td><td>{v.get('values')}</td></tr>"
                   for mix, v in s["map50"].items())
    claims = "".join(f"<tr><td>{c}</td><td>{v['mean']:+.3f} ± {v['sd']:.3f}</td>"
                     f"<td>{'holds on every seed' if v['holds_every_seed'] else 'does not hold'}</td></tr>"
                     for c, v in s["claims"].items() if v["n"])
    share = s["share_of_gap_closed"]
    closed = (f"<p>Refinement closed {share['mean']:.0%} of the sim → real100 gap (mean over the {share['n']} of "
              f"{len(s['seeds'])} seeds whose gap is at least {GAP_MIN} mAP50).</p>"
              if share["n"] else "")
    return (f"{MARK}<h2>Across seeds ({name}, seeds {s['seeds']})</h2>{closed}<table><tr><th>mix</th>"
            f"<th>mAP50 mean ± sd</th><th>per seed</th></tr>{rows}</table><table><tr><th>claim</th>"
            f"<th>difference</th><th></th></tr>{claims}</table>{END}")


MARK, END = "<!-- across-seeds -->", "<!-- /across-seeds -->"


def add_to_reports(out: Path, seeds: list[int], section: str) -> None:
    for seed in seeds:
        report = out / f"seed{seed}" / "report.html"
        if not report.is_file():
            continue
        text = report.read_text()
        if MARK in text:
            text = text[:text.index(MARK)] + text[text.index(END) + len(END):]
        report.write_text(text.replace("</body>", section + "</body>") if "</body>" in text else text + section)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("set", choices=["cards", "lmo", "cubes", "builtin"], help="builtin: plain sim2real, no photos")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--root", type=Path, help="the real set's folder (default ../shared/real/<set>)")
    ap.add_argument("--out", type=Path, help="default runs/bench_<set>")
    ap.add_argument("--data", type=Path, help="the shared renders and imported photos (default <out>/data)")
    ap.add_argument("--experiment", help="experiment config name (default real_<set>)")
    ap.add_argument("--collect", action="store_true", help="only read the finished runs")
    args = ap.parse_args(argv)
    builtin = args.set == "builtin"
    if builtin and (args.root or args.experiment):
        ap.error("builtin runs plain sim2real: it takes no --root and no --experiment")
    root = None if builtin else (args.root or ROOT.parent / "shared" / "real" / args.set).resolve()
    out = (args.out or ROOT / "runs" / f"bench_{args.set}").resolve()
    data = (args.data or out / "data").resolve()
    experiment = None if builtin else "real_" + (args.experiment or args.set).removeprefix("real_")
    sets = [] if builtin else [f"experiment={experiment}", f"data.root={root}"]
    walls: dict[int, float] = {}
    if not args.collect:
        for seed in args.seeds:
            walls[seed] = run_seed(sets, out, data, seed, extra)
    runs = {s: json.loads((out / f"seed{s}" / "metrics.json").read_text()) for s in args.seeds
            if (out / f"seed{s}" / "metrics.json").is_file()}
    summary = {"set": args.set, "experiment": experiment, "root": str(root) if root else None, "extra": extra,
               **summarise(runs, walls)}
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_real.json").write_text(json.dumps(summary, indent=2))
    print_table(experiment or "the built-in default", summary)
    add_to_reports(out, summary["seeds"], across_seeds_html(experiment or "the built-in default", summary))
    print(f"\nwritten {out / 'bench_real.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
