"""Training mixes named like ``refined+real10``: synthetic sources plus a percentage of real."""
from __future__ import annotations

import re
from dataclasses import dataclass

from sim2real.errors import ConfigError

_REAL = re.compile(r"^real(\d+(?:\.\d+)?)$")
SYNTHETIC = ("sim", "refined")


@dataclass(frozen=True)
class Mix:
    name: str
    synthetic: tuple[str, ...]  # subset of SYNTHETIC
    real_fraction: float  # of the labelled real training pool

    @property
    def needs_real(self) -> bool:
        return self.real_fraction > 0


def parse_mix(name: str) -> Mix:
    synthetic, fraction = [], 0.0
    for part in name.split("+"):
        if part in SYNTHETIC:
            synthetic.append(part)
        elif m := _REAL.match(part):
            fraction = float(m.group(1)) / 100
            if not 0 < fraction <= 1:
                raise ConfigError(f"train.mixes: {name!r}: real percentage must be in (0, 100]")
        else:
            raise ConfigError(f"train.mixes: {name!r}: unknown part {part!r} (use sim, refined, realNN)")
    if not synthetic and fraction == 0:
        raise ConfigError(f"train.mixes: {name!r} trains on nothing")
    return Mix(name=name, synthetic=tuple(synthetic), real_fraction=fraction)
