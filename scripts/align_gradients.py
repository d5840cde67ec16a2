"""How large the domain-adversarial gradient is on the backbone, next to the detection gradient.

    python scripts/align_gradients.py --sim runs/data/sim --photos runs/data/real_train_imported \\
        [--weight 0.01] [--steps 120] [--ramp-steps 800] [--out runs/align_gradients.json]

Trains ``fcos_tiny`` from scratch on the renders with ``align.*`` as ``sim2real-train`` would
(the same data plan, augmentation and classifier; AdamW at the detector's lr), and every 10
steps records the detection loss, the classifier's loss and accuracy, the reversal's strength
(ramped over ``--ramp-steps``, a phase's length: 16 epochs of 50 steps on cards) and the norms of both gradients on the
backbone's parameters. JSON lines go to stdout, the list to ``--out``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch


def forever(loader):
    """The loader's batches, epoch after epoch."""
    while True:
        yield from loader


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sim", type=Path, required=True, help="the renders (a sim2real dataset)")
    ap.add_argument("--photos", type=Path, required=True, help="unlabelled photos (any layout)")
    ap.add_argument("--weight", type=float, default=0.01)
    ap.add_argument("--steps", type=int, default=120)
    ap.add_argument("--ramp-steps", type=int, default=800)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("runs/align_gradients.json"))
    args = ap.parse_args(argv)

    from hydra import compose, initialize_config_dir

    import train.config  # noqa: F401  (registers the schema)
    from sim2real.app import CONF_DIR
    from train.align import ramp
    from train.augment import DetectionAugment
    from train.detectors import create
    from train.module import running_batch_norm
    from train.plan import build_plan
    from train.run import _aligned, _loaders
    from train.sources import box_sizes

    torch.manual_seed(args.seed)
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(config_name="train", overrides=[f"data.train=[{args.sim}]", f"align.source={args.photos}",
                                                      f"align.weight={args.weight}", f"seed={args.seed}", "logger=none"])
    plan = build_plan(cfg)
    parts = plan.parts("all")
    model = create(cfg.detector.name, len(plan.classes), plan.image_size,
                   box_sizes=box_sizes([s for p in parts for s in p.train])).train()
    train, _ = _loaders(cfg, plan, parts, None, False)
    align, loaders = _aligned(cfg, plan, "merged", parts, model, train)
    augment = DetectionAugment(cfg.data.augment)
    body = list(model.backbone.parameters())
    opt = torch.optim.AdamW([*model.parameters(), *align.parameters()], lr=float(cfg.detector.optimizer.lr),
                            weight_decay=float(cfg.detector.optimizer.weight_decay))
    kept: dict = {}
    model.backbone.register_forward_hook(lambda module, inputs, output: kept.__setitem__("renders", output))
    renders, photos = forever(loaders["renders"]), forever(loaders["photos"])
    no_boxes = {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}
    rows = []
    for step in range(args.steps):
        images, targets = augment(*next(renders))
        shots, _ = augment(next(photos)[0], [dict(no_boxes) for _ in range(cfg.data.batch_size)])
        detection = sum(model(images, targets).values())
        rendered = kept["renders"]  # read before the photos' pass: the hook keeps every backbone output
        with running_batch_norm(model.backbone):
            features = model.backbone(model.transform(shots)[0].tensors)
        coeff = ramp(step / args.ramp_steps)
        domain, accuracy = align(rendered, features, coeff)
        norms = [float(torch.sqrt(sum((g ** 2).sum() for g in grads if g is not None)))
                 for grads in (torch.autograd.grad(loss, body, retain_graph=True, allow_unused=True)
                               for loss in (detection, domain))]
        opt.zero_grad()
        (detection + domain).backward()
        opt.step()
        if step % 10 == 0 or step == args.steps - 1:
            rows.append({"step": step, "detection_loss": round(float(detection), 4),
                         "domain_loss": round(float(domain) / args.weight, 4), "domain_accuracy": round(float(accuracy), 3),
                         "coeff": round(coeff, 4), "grad_detection": round(norms[0], 5), "grad_domain": round(norms[1], 5)})
            print(json.dumps(rows[-1]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "steps": rows}, indent=2))
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
