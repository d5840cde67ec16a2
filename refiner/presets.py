"""Network sizes per model: ``small`` (CPU pipeline: minutes on 2 cores) and ``paper``.

``paper`` follows the publications: CycleGAN / CUT / FastCUT use a 64-filter ResNet generator
with 2 downsamplings and 9 blocks and a 70x70 PatchGAN; SimGAN a 64-filter refiner of 4 blocks
without striding and a small local discriminator. ``small`` keeps the structure and shrinks it.
"""
from __future__ import annotations

from typing import Any

from sim2real.errors import ConfigError

_STRIDED = {
    "small": dict(ngf=24, n_blocks=3, n_down=2, ndf=32, n_layers_d=2, norm="instance"),
    "paper": dict(ngf=64, n_blocks=9, n_down=2, ndf=64, n_layers_d=3, norm="instance"),
}
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "cyclegan": _STRIDED,
    "cut": _STRIDED,
    "fastcut": _STRIDED,
    # the camera model has no sizes; its discriminator keeps global colour (no normalisation)
    "camera": {
        "small": dict(ndf=32, n_layers_d=2, norm="none"),
        "paper": dict(ndf=64, n_layers_d=3, norm="none"),
    },
    "simgan": {
        "small": dict(ngf=24, n_blocks=3, n_down=0, ndf=32, n_layers_d=2, norm="instance"),
        "paper": dict(ngf=64, n_blocks=4, n_down=0, ndf=64, n_layers_d=2, norm="instance"),
    },
}


def net_sizes(model: str, preset: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The preset's sizes with every non-None ``refiner.net.*`` override applied."""
    table = PRESETS.get(model, _STRIDED)
    if preset not in table:
        raise ConfigError(f"refiner.preset must be one of {sorted(table)}, got {preset!r}")
    sizes = dict(table[preset])
    sizes.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return sizes
