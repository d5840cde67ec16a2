"""Which import rule (data.fit) serves a detector best: keep, letterbox or crop, on one real set.

    python scripts/bench_import_rules.py --train ../shared/real/cards/train --test ../shared/real/cards/test \
        --rules keep letterbox crop --seeds 0 1 2 --resolution 256 --out runs/import_rules

For every rule the training and the test photos are imported by that rule; a detector trained
on all the training photos (real100) is scored on the test photos imported by the same rule
and on the whole test photos (``keep``: what a user's detector meets). Boxes each rule keeps,
mAP50 mean and spread over seeds go to ``<out>/import_rules.json``.
"""
from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from hydra import compose, initialize_config_dir

from sim2real.app import CONF_DIR
from pipeline.config import register_configs
from sim2real.importing import import_labelled


def train_and_score(train: Path, tests: dict[str, Path], out: Path, seed: int, epochs: int, extra: list[str]) -> dict:
    from train.run import run

    register_configs()
    overrides = [f"data.train=[{train}]", f"data.test={tests['same']}", f"data.extra_test={{whole: {tests['whole']}}}",
                 f"out_dir={out}", f"seed={seed}", f"trainer.max_epochs={epochs}", "logger=none", "plots=false",
                 "slices=none", "trainer.enable_progress_bar=false", *extra]
    with initialize_config_dir(CONF_DIR, version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    metrics = run(cfg)["metrics"]
    return {"same": metrics["test/map50"], "whole": metrics["whole/map50"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=Path, required=True)
    ap.add_argument("--test", type=Path, required=True)
    ap.add_argument("--rules", nargs="+", default=["keep", "letterbox", "crop"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--resolution", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--out", type=Path, default=Path("runs/import_rules"))
    ap.add_argument("extra", nargs="*", help="more sim2real-train overrides")
    args = ap.parse_args()
    out = args.out.resolve()
    data = {rule: {part: import_labelled(src, out / "data" / f"{part}_{rule}", resolution=args.resolution, fit=rule)
                   for part, src in (("train", args.train), ("test", args.test))} for rule in args.rules}
    whole = import_labelled(args.test, out / "data" / "test_keep", resolution=args.resolution, fit="keep").root
    result = {"resolution": args.resolution, "epochs": args.epochs, "rules": {}}
    for rule in args.rules:
        scores = [train_and_score(data[rule]["train"].root, {"same": data[rule]["test"].root, "whole": whole},
                                  out / f"{rule}_seed{s}", s, args.epochs, args.extra) for s in args.seeds]
        boxes = {part: int(data[rule][part].manifest.provenance["boxes_written"]) for part in ("train", "test")}
        entry = {"boxes": boxes, "boxes_in": {p: int(data[rule][p].manifest.provenance["boxes_in"]) for p in boxes}}
        for key in ("same", "whole"):
            vals = [sc[key] for sc in scores]
            entry[f"map50_{key}"] = {"mean": round(statistics.fmean(vals), 4),
                                     "sd": round(statistics.stdev(vals), 4) if len(vals) > 1 else 0.0,
                                     "values": [round(v, 4) for v in vals]}
        result["rules"][rule] = entry
        print(f"{rule:<10} boxes kept train {boxes['train']}/{entry['boxes_in']['train']} test "
              f"{boxes['test']}/{entry['boxes_in']['test']}  mAP50 same-rule test {entry['map50_same']['mean']:.3f} ± "
              f"{entry['map50_same']['sd']:.3f}  whole photos {entry['map50_whole']['mean']:.3f} ± "
              f"{entry['map50_whole']['sd']:.3f}", flush=True)
    (out / "import_rules.json").write_text(json.dumps(result, indent=2))
    print(f"written {out / 'import_rules.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
