"""`sim2real-refine`: Hydra entry point on conf/refine.yaml (the work is in refiner.run)."""
from __future__ import annotations

import hydra
from omegaconf import DictConfig

from sim2real.app import CONF_DIR, guarded
from sim2real.config import register_configs

register_configs()


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="refine")
@guarded
def main(cfg: DictConfig) -> None:
    from refiner.run import run
    from sim2real import tracking

    try:
        run(cfg)
    finally:
        tracking.finish()


if __name__ == "__main__":
    main()
