"""`sim2real-refine`: Hydra entry point on sim2real/conf/refine.yaml (the work is in refiner.run)."""
from __future__ import annotations

import hydra
from omegaconf import DictConfig

import refiner.config  # noqa: F401  (stores the refiner schema)
from sim2real.app import CONF_DIR, guarded, job_out_dir


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="refine")
@guarded
def main(cfg: DictConfig) -> float | None:
    """Returns the objective (for Optuna sweeps) when ``objective.enabled``."""
    from refiner.run import run
    from sim2real import tracking

    job_out_dir(cfg)
    try:
        result = run(cfg)
    finally:
        tracking.finish()
    if cfg.objective.enabled and result:
        from hydra.utils import get_method

        return get_method(cfg.objective.function)(cfg, result["out_dir"])
    return None


if __name__ == "__main__":
    main()
