"""`sim2real-train`: Hydra entry point on conf/train.yaml (all the work is in ``train.run``)."""
from __future__ import annotations

import hydra
from omegaconf import DictConfig

from sim2real.app import CONF_DIR, guarded
from sim2real.config import register_configs

register_configs()


def _job_out_dir(cfg: DictConfig) -> None:
    """In a ``-m`` sweep every job gets its own ``out_dir/<job number>`` (else they would collide);
    each job's metrics.json records what it trained on (``_run``)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        cfg.out_dir = f"{cfg.out_dir}/{HydraConfig.get().job.num}"


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="train")
@guarded
def main(cfg: DictConfig) -> None:
    from train.run import run

    _job_out_dir(cfg)
    run(cfg)


if __name__ == "__main__":
    main()
