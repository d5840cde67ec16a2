"""`sim2real-train` and `sim2real-predict`: Hydra entry points on sim2real/conf/train.yaml and
predict.yaml (the work is in ``train.run`` and ``train.predict``)."""
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


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="predict")
@guarded
def predict(cfg: DictConfig) -> dict:
    from train.predict import run

    job_out_dir(cfg)
    return run(cfg)


if __name__ == "__main__":
    main()
