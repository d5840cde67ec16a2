"""How a mix of synthetic and real images trains a detector (``train.mixing``).

- ``finetune`` (the default): the synthetic-only detector of the mix (``sim`` for
  ``sim+real10``) is trained once, and each real fraction fine-tunes a copy of it on the real
  images alone (``schedule=finetune``, ``init=`` its checkpoint). One pretraining serves the
  whole real-fraction curve, and the real images are never outnumbered by renders.
- ``balanced``: one run on the merged data, each batch drawn half synthetic, half real.
- ``merged``: one run on the merged data at its natural proportions (about 90 % renders for
  ``sim+real10``: the renders drown the photos).

Mixes without real images, and real-only mixes, train from scratch in every mode. With
``train.equal_budget`` the real-only mixes train as many epochs as a fine-tuned mix does in all
(``equal_budget_epochs``), so that ``refined+real10`` against ``real100`` compares data, not budgets.
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from pipeline.mixes import Mix, parse_mix
from sim2real.errors import ConfigError

MIXING = ("finetune", "balanced", "merged")


def check_mixing(mode: str) -> None:
    if mode not in MIXING:
        raise ConfigError(f"train.mixing must be one of {MIXING}, got {mode!r}")


def plan_phases(mixes: list[str], mode: str) -> tuple[list[str], list[str]]:
    """(mixes trained from scratch, mixes fine-tuned from a phase-1 mix); the synthetic-only
    mixes a fine-tuning needs are added to phase 1."""
    check_mixing(mode)
    first, second = [], []
    for name in mixes:
        mix = parse_mix(name)
        if mode == "finetune" and mix.synthetic and mix.needs_real:
            second.append(name)
            base = pretrained_mix(mix)
            if base not in first and base not in mixes:
                first.append(base)
        elif name not in first:
            first.append(name)
    return [m for m in mixes if m in first] + [m for m in first if m not in mixes], second


def pretrained_mix(mix: Mix) -> str:
    """The synthetic-only mix a fine-tuned mix starts from (``sim+real10`` -> ``sim``)."""
    return "+".join(mix.synthetic)


def mix_overrides(mix: Mix, mode: str) -> list[str]:
    """The sampling overrides of a merged run (``balanced``: half the draws real)."""
    if mode == "balanced" and mix.synthetic and mix.needs_real:
        n = len(mix.synthetic)
        return [f"data.weights=[{','.join(['1'] * n)},{n}]"]
    return []


def equal_budget_epochs(train_cfg, *, self_training: bool = False) -> int:
    """The epochs a fine-tuned mix trains in all (a composed ``sim2real-train`` config): its
    pretraining, every fine-tuning cycle and, with self-training, every pseudo-label round."""
    from train.run import DEFAULT_EPOCHS

    t = train_cfg
    total = (DEFAULT_EPOCHS if t.trainer.max_epochs is None else int(t.trainer.max_epochs))
    total += int(t.finetune.max_epochs) * int(t.finetune.cycles)
    return total + (int(t.pseudo.max_epochs) * int(t.pseudo.rounds) if self_training else 0)


def content_addressed(checkpoint: str | Path, store: Path) -> Path:
    """A copy of ``checkpoint`` named by its content: a retrained base gives a new path, so a
    fine-tuning that starts from it is never reused by mistake."""
    checkpoint = Path(checkpoint)
    digest = hashlib.sha256(checkpoint.read_bytes()).hexdigest()[:16]
    target = Path(store) / f"{digest}.ckpt"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        shutil.copyfile(checkpoint, tmp)
        tmp.replace(target)
    return target
