"""Can the refiner's discriminator, trained alone, tell real from sim? Writes JSON.

    python scripts/probe_discriminator.py --real data/real --sim data/sim \
        --settings "bs1:color,translation,cutout" "bs8:translation,cutout" "bs8:" --out probe_d.json

The ``small`` PatchGAN (ndf 32, 2 layers, instance norm; refiner/models/base.py STRIDED_PRESETS) is trained with
the LSGAN loss on random, flipped ``--crop`` crops (batch ``bs``, Adam 2e-4, betas 0.5/0.999)
with the given DiffAugment policy (empty: none), as the refiner feeds its discriminator, but
against sim images instead of refined ones and without the FG/BG split or image pool. Score: ROC AUC of the mean patch output on
``--holdout`` held-out full images per set (0.5: blind; 1.0: separates every pair).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from refiner.augment import DiffAugment
from refiner.layers import PatchDiscriminator, init_weights
from refiner.losses import GANLoss
from sim2real.dataset import DatasetReader


def load(root: str) -> torch.Tensor:
    ds = DatasetReader(root)
    x = np.stack([ds.image(i) for i in range(len(ds))])
    return torch.from_numpy(x).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)


def crops(x: torch.Tensor, n: int, size: int, gen: torch.Generator) -> torch.Tensor:
    idx = torch.randint(len(x), (n,), generator=gen)
    h, w = x.shape[2:]
    out = []
    for i in idx.tolist():
        top = int(torch.randint(h - size + 1, (1,), generator=gen))
        left = int(torch.randint(w - size + 1, (1,), generator=gen))
        c = x[i, :, top: top + size, left: left + size]
        out.append(c.flip(2) if torch.rand(1, generator=gen).item() < 0.5 else c)
    return torch.stack(out)


def probe(real: torch.Tensor, sim: torch.Tensor, *, batch: int, policy: list[str], steps: int,
          crop: int, holdout: int, lr: float, seed: int) -> float:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    real_tr, real_te = real[holdout:], real[:holdout]
    sim_tr, sim_te = sim[holdout:], sim[:holdout]
    d = init_weights(PatchDiscriminator(ndf=32, n_layers=2, norm="instance"))
    aug = DiffAugment(policy, enabled=bool(policy))
    gan = GANLoss("lsgan")
    opt = torch.optim.Adam(d.parameters(), lr=lr, betas=(0.5, 0.999))
    for _ in range(steps):
        r, s = crops(real_tr, batch, crop, gen), crops(sim_tr, batch, crop, gen)
        loss = 0.5 * (gan(d(aug(r)), True) + gan(d(aug(s)), False))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    d.eval()
    with torch.inference_mode():
        scores = torch.cat([d(real_te).mean((1, 2, 3)), d(sim_te).mean((1, 2, 3))]).numpy()
    return float(roc_auc_score(np.r_[np.ones(len(real_te)), np.zeros(len(sim_te))], scores))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", required=True)
    ap.add_argument("--sim", required=True)
    ap.add_argument("--settings", nargs="+", default=["bs1:color,translation,cutout", "bs8:translation,cutout", "bs8:"],
                    help="bs<batch>:<comma-separated DiffAugment policy, empty for none>")
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--crop", type=int, default=64)
    ap.add_argument("--holdout", type=int, default=100)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="probe_discriminator.json")
    args = ap.parse_args()
    real, sim = load(args.real), load(args.sim)
    rows = []
    for setting in args.settings:
        bs, _, pol = setting.partition(":")
        policy = [p for p in pol.split(",") if p]
        start = time.perf_counter()
        auc = probe(real, sim, batch=int(bs.removeprefix("bs")), policy=policy, steps=args.steps, crop=args.crop,
                    holdout=args.holdout, lr=args.lr, seed=args.seed)
        rows.append({"setting": setting, "steps": args.steps, "auc": round(auc, 4),
                     "seconds": round(time.perf_counter() - start, 1)})
        print(json.dumps(rows[-1]), flush=True)
    Path(args.out).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
