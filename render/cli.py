"""`sim2real-render` and `sim2real-fit`: Hydra entry points on sim2real/conf/render.yaml (the work is
in render.run and render.fit)."""
from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig

import render.config  # noqa: F401  (stores the render schema)
from sim2real.app import CONF_DIR, guarded, job_out_dir


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="render")
@guarded
def main(cfg: DictConfig) -> dict:
    from render.run import run

    job_out_dir(cfg)
    return run(cfg)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="render")
@guarded
def fit(cfg: DictConfig) -> dict:
    """`sim2real-fit`: the scene fitted to ``fit.real``'s labels, written as a scene YAML; no render."""
    from render.renderer import to_config
    from render.run import fit_scene_of
    from render.validate import check_config

    job_out_dir(cfg)
    typed = to_config(cfg)
    check_config(typed)
    fitted = fit_scene_of(typed, Path(typed.out_dir))
    return {"out_dir": typed.fit.out_dir or typed.out_dir, "scene": fitted.scene.name}


if __name__ == "__main__":
    main()
