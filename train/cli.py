"""`sim2real-train`: Hydra entry point on sim2real/conf/train.yaml (all the work is in ``train.run``)."""
from __future__ import annotations

import hydra
from omegaconf import DictConfig

import train.config  # noqa: F401  (stores the train schema)
from sim2real.app import CONF_DIR, guarded, job_out_dir


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="train")
@guarded
def main(cfg: DictConfig) -> None:
    from train.run import run

    job_out_dir(cfg)
    run(cfg)


if __name__ == "__main__":
    main()
