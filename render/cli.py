"""`sim2real-render`: Hydra entry point on sim2real/conf/render.yaml (the work is in render.run)."""
from __future__ import annotations

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


if __name__ == "__main__":
    main()
