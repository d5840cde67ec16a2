"""Running one stage from the pipeline: compose its config, reuse a finished result, or run it.

Each stage is composed from its own primary config (``render``, ``refine``, ``train``) with
overrides, exactly as its command would be, so the pipeline never holds a second copy of a
stage's defaults. A stage whose composed config matches a recorded finished run, and whose
input datasets are the ones it ran on (their manifests' fingerprints), is reused: a refined
set made again by another refiner retrains the detectors on it.
"""
from __future__ import annotations

import importlib
import json
import logging
import os
import time
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from multiprocessing import get_context
from pathlib import Path
from typing import Sequence

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from pipeline.config import register_configs
from sim2real import atomic, guard
from sim2real.app import CONF_DIR, resolved
from sim2real.dataset import fingerprint

log = logging.getLogger(__name__)
register_configs()  # the stage schemas, also in spawned processes

# stage -> (primary config, module whose run(cfg) does the work)
STAGES = {"render": ("render", "render.run"), "refine": ("refine", "refiner.run"), "train": ("train", "train.run")}


def compose_stage(config_name: str, overrides: Sequence[str]):
    """Compose a stage's primary config, inside a running Hydra app or outside one."""
    if GlobalHydra.instance().is_initialized():
        return compose(config_name=config_name, overrides=list(overrides))
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return compose(config_name=config_name, overrides=list(overrides))


def stage_key(cfg_dict: dict) -> str:
    """What decides reuse: the composed config minus tracking and parallelism knobs."""
    ignore = {"logger", "workers", "shard", "num_threads"}
    cfg_dict = {k: v for k, v in cfg_dict.items() if k not in ignore}
    if "overwrite" in cfg_dict:  # the pipeline owns its folders (overwrite=true); records made
        cfg_dict["overwrite"] = False  # before it passed that hold False, and keep matching
    if cfg_dict.get("ckpt_path") == "last":  # resuming is how a stage runs (records keep their keys);
        cfg_dict["ckpt_path"] = None         # a checkpoint file given is what it runs from
    if isinstance(cfg_dict.get("trainer"), dict):
        cfg_dict["trainer"] = {k: v for k, v in cfg_dict["trainer"].items() if k != "enable_progress_bar"}
    if cfg_dict.get("schedule") == "merged":  # a merged run never reads the fine-tuning settings
        cfg_dict.pop("finetune", None)
    if isinstance(cfg_dict.get("objective"), dict):  # where a search's objective lives makes nothing
        cfg_dict["objective"] = {k: v for k, v in cfg_dict["objective"].items() if k != "function"}
    return fingerprint(cfg_dict)


def input_fingerprints(stage: str, cfg) -> dict[str, str | None]:
    """The fingerprint of each dataset a stage reads (None for a plain folder of photos)."""
    if stage == "refine":
        return guard.inputs([cfg.data.sim, cfg.data.real])
    if stage == "train":
        return guard.inputs(guard.train_inputs(cfg.data))
    return {}


def run_stage(stage: str, label: str, overrides: Sequence[str], *, state_dir: Path) -> dict:
    """Run ``stage`` with ``overrides`` (or reuse its recorded result); returns its result dict."""
    config_name, module = STAGES[stage]
    cfg = compose_stage(config_name, overrides)
    key = stage_key(resolved(cfg))
    inputs = input_fingerprints(stage, cfg)
    marker = Path(state_dir) / f"{label}.json"
    if marker.is_file():
        done = json.loads(marker.read_text())
        if done.get("key") == key and done.get("inputs", inputs) == inputs:  # records before inputs: key only
            log.info("%s: reusing the finished result (%s)", label, marker)
            return {**done["result"], "reused": True}
        # the stage is about to overwrite its outputs: a killed run must not leave the old
        # record claiming they are finished
        log.info("%s: its settings or its input data changed since the recorded run; running it again over its "
                 "old outputs", label)
        marker.unlink()
    log.info("%s: sim2real-%s %s", label, config_name, " ".join(overrides))
    start = time.perf_counter()
    result = importlib.import_module(module).run(cfg)
    result = {**(result or {}), "seconds": round(time.perf_counter() - start, 2)}
    atomic.write_json(marker, {"key": key, "inputs": inputs, "overrides": list(overrides), "result": result}, indent=2)
    return {**result, "reused": False}


def _init_job(threads: int) -> None:
    import torch

    logging.basicConfig(level=logging.INFO)
    torch.set_num_threads(threads)


def _run_job(stage: str, label: str, overrides: Sequence[str], state_dir: Path) -> dict:
    """``run_stage`` in a spawned process, its log lines tagged with ``label``."""
    for handler in logging.getLogger().handlers:
        handler.setFormatter(logging.Formatter(f"[%(asctime)s][{label}] %(message)s"))
    return run_stage(stage, label, overrides, state_dir=state_dir)


def run_parallel(stage: str, runs: dict[str, Sequence[str]], *, state_dir: Path, jobs: int) -> dict[str, dict]:
    """Run independent runs of one stage (``{label: overrides}``), ``jobs`` at a time.

    ``jobs`` <= 1 runs them one after the other in this process. Otherwise each run gets its own
    spawned process with ``cpu_count // jobs`` torch threads; results come back in the order of
    ``runs``, and the first failure is raised once the running ones end.
    """
    if jobs <= 1 or len(runs) <= 1:
        return {label: run_stage(stage, label, o, state_dir=state_dir) for label, o in runs.items()}
    threads = max(1, (os.cpu_count() or 1) // jobs)
    log.info("%d %s runs, %d at a time (%d torch thread(s) each)", len(runs), stage, jobs, threads)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"), initializer=_init_job,
                             initargs=(threads,)) as pool:
        futures = {label: pool.submit(_run_job, stage, label, o, state_dir)
                   for label, o in runs.items()}
        done, pending = wait(futures.values(), return_when=FIRST_EXCEPTION)
        for f in pending:
            f.cancel()
        for f in done:
            if f.exception() is not None:
                raise f.exception()
        return {label: f.result() for label, f in futures.items()}
