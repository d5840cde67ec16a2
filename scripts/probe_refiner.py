"""Where a refiner run goes: its loss terms and how far refined moves from sim, every N steps,
then the stage's metrics (c2st, label preservation). Writes JSON.

    python scripts/probe_refiner.py --out probe.json --every 100 -- \
        data.sim=data/sim data.real=data/real out_dir=/tmp/probe/refined refiner.loss.nce=1

Everything after ``--`` is a ``sim2real-refine`` override. ``mean_abs_change`` is the mean
|refined - sim| of the current batch on the [-1, 1] scale (0.01 is ~1 grey level): a
discriminator that cannot tell the domains apart shows as LSGAN losses near 0.25 and a change
that stays near 0.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from refiner import engine
from refiner.run import run
from pipeline.stages import compose_stage


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="probe_refiner.json")
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("overrides", nargs="*")
    args = ap.parse_args()
    trace: list[dict] = []
    step = engine.RefinerModule.training_step

    def traced(self, batch, batch_idx):
        out = step(self, batch, batch_idx)
        if self.step % args.every == 0:
            m = self.model
            row = {"step": self.step, **{k: round(float(v), 4) for k, v in m.current_losses().items()},
                   "mean_abs_change": round((m.refined - m.sim).abs().mean().item(), 4)}
            trace.append(row)
            print(json.dumps(row), flush=True)
        return out

    engine.RefinerModule.training_step = traced
    cfg = compose_stage("refine", ["trainer.enable_progress_bar=false", *args.overrides])
    result = run(cfg)
    Path(args.out).write_text(json.dumps({"overrides": args.overrides, "trace": trace,
                                          "metrics": result.get("metrics", {})}, indent=2))
    print(json.dumps(result.get("metrics", {})))


if __name__ == "__main__":
    main()
