"""`sim2real`: Hydra entry point on sim2real/conf/pipeline.yaml (the work is in pipeline.run)."""
from __future__ import annotations

import hydra
from omegaconf import DictConfig

from pipeline.config import register_configs
from sim2real.app import CONF_DIR, guarded, job_out_dir

register_configs()


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="pipeline")
@guarded
def main(cfg: DictConfig) -> None:
    from pipeline.run import run

    job_out_dir(cfg)
    run(cfg)


if __name__ == "__main__":
    main()
