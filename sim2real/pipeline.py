"""`sim2real`: every stage end to end on conf/pipeline.yaml, then the report."""
from __future__ import annotations

import hydra
from omegaconf import DictConfig

from sim2real.app import CONF_DIR, guarded, not_implemented
from sim2real.config import register_configs

register_configs()


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="pipeline")
@guarded
def main(cfg: DictConfig) -> None:
    not_implemented("pipeline")


if __name__ == "__main__":
    main()
