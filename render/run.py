"""In-process API of the render stage: ``run(cfg) -> dict`` (the CLI and the pipeline call it).

Plans the indices of this shard, skips those already written (resume), renders the rest in
``workers`` spawned processes (render/workers.py) and finalises the dataset. Finalising
holds a file lock, so with several shards the last one to finish marks the set complete.
"""
from __future__ import annotations

import contextlib
import copy
import fcntl
import logging
import os
import time
from collections import Counter
from pathlib import Path
from typing import Iterator

from omegaconf import OmegaConf
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from render.exr import scratch_exr
from render.renderer import to_config
from render.sampling import target_classes
from render.validate import check_config, shard_range
from sim2real.dataset import DatasetWriter

log = logging.getLogger("sim2real.render")

# Keys that say how to run, not what to render: a shard, a resume or more workers share a dataset.
# ``fit`` says how the scene was found; the fitted scene itself is in the key.
RUN_ONLY_KEYS = ("workers", "threads", "shard", "out_dir", "overwrite", "recycle_every", "watchdog_s",
                 "progress", "logger", "name", "fit")
# Keys added after datasets were rendered without them: left out of the key while they hold the
# value that renders as before, so a set rendered by an earlier version still resumes and matches.
LATER_KEYS = {("scene", "camera", "azimuth_relative"): False}


def plain_config(cfg) -> dict:
    """The full config (schema defaults filled in) as a JSON-able dict."""
    return OmegaConf.to_container(OmegaConf.structured(to_config(cfg)), resolve=True, enum_to_str=True)  # type: ignore[return-value]


def resume_key(config: dict) -> dict:
    """What decides the pixels and labels: the config without RUN_ONLY_KEYS and LATER_KEYS at their old value."""
    key = copy.deepcopy({k: v for k, v in config.items() if k not in RUN_ONLY_KEYS})
    for (*parents, leaf), old in LATER_KEYS.items():
        node = key
        for part in parents:
            node = node.get(part, {})
        if node.get(leaf, old) == old:
            node.pop(leaf, None)
    return key


def writer_args(cfg, config: dict) -> dict:
    key = resume_key(config)
    # proxy_real is the stand-in for photos (docs/design.md), so its sets are of kind "real"
    kind = "real" if cfg.reality.name == "proxy_real" else "sim"
    return {"name": cfg.name or Path(cfg.out_dir).name, "kind": kind, "classes": target_classes(cfg.scene),
            "num_images": cfg.num_images, "config": config, "seed": cfg.seed, "resume_key": key}


@contextlib.contextmanager
def dataset_lock(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]render"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:.2f} img/s"), TimeElapsedColumn(), TextColumn("ETA"),
        TimeRemainingColumn(), disable=not enabled, transient=False,
    )


def run(cfg) -> dict:
    """Render (the missing part of) this shard of the dataset; returns a summary dict.

    Keys: out_dir, num_images, rendered, skipped, seconds, images_per_s, status, classes
    (annotation counts), render_fraction (share of worker time inside Cycles' render call),
    restarts, stats (per-image worker memory samples and finish times, for benchmarks).
    """
    typed = to_config(cfg)
    check_config(typed)
    root = Path(typed.out_dir)
    if typed.fit.enabled:  # the scene fitted to the photos' labels first (render/fit.py)
        typed = fit_scene_of(typed, root / "fit")
    config = plain_config(typed)
    args = writer_args(typed, config)
    with dataset_lock(root):
        writer = DatasetWriter(root, overwrite=typed.overwrite, **args)
        _remove_stale_temporaries(root)
    _remove_dead_scratch()
    todo = [i for i in shard_range(typed.num_images, typed.shard.index, typed.shard.count) if not writer.is_done(i)]
    skipped = len(shard_range(typed.num_images, typed.shard.index, typed.shard.count)) - len(todo)
    log.info("render %s: %d images to render, %d already done (shard %d/%d) -> %s", typed.scene.name, len(todo),
             skipped, typed.shard.index, typed.shard.count, root)
    t0 = time.perf_counter()
    first_done: list[float] = []
    with _progress(typed.progress) as bar:
        task = bar.add_task("render", total=len(todo), rate=0.0)

        def on_done(index: int) -> None:
            now = time.perf_counter()
            first_done.append(now)
            n = len(first_done)
            rate = (n - 1) / (now - first_done[0]) if n > 1 and now > first_done[0] else 0.0
            bar.update(task, advance=1, rate=rate)

        stats = _render(typed, config, args, todo, on_done)
    seconds = time.perf_counter() - t0
    with dataset_lock(root):
        manifest = writer.finalize()
    summary = _summary(root, typed, todo, skipped, seconds, first_done, stats, manifest.status, t0)
    _print_summary(summary)
    _track(typed, config, summary)
    return summary


def scene_choice(default: str) -> str:
    """The ``scene=`` group option this run was composed with (the fitted YAML extends it)."""
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized():
        return str(HydraConfig.get().runtime.choices.get("scene") or default)
    return default


def fit_scene_of(typed, out: Path):
    """Fit the scene, write its YAML and fit.json into ``fit.out_dir`` (else ``out``), return the
    fitted config."""
    from render.fit import check_fit, fit_and_write

    check_fit(typed.fit)
    out = Path(typed.fit.out_dir) if typed.fit.out_dir else out
    return fit_and_write(typed, out, base_scene=scene_choice(typed.scene.name), progress=typed.progress).cfg


def _track(cfg, config: dict, s: dict) -> None:
    """Log the summary to W&B (offline by default); reuse and leave open a caller's run."""
    if cfg.logger.mode == "disabled":
        return
    import wandb

    from sim2real import tracking

    owned = wandb.run is None
    tracking.start_run(OmegaConf.structured(cfg.logger), config=config, job_type="render", out_dir=cfg.out_dir)
    tracking.log_metrics({f"render/{k}": s[k] for k in ("rendered", "seconds", "images_per_s",
                                                         "steady_images_per_s", "render_fraction") if s[k] is not None}
                         | {f"render/boxes/{c}": n for c, n in s["classes"].items()})
    if owned:
        tracking.finish()


def _remove_stale_temporaries(root: Path, older_than_s: float = 600.0) -> None:
    """Delete ``.tmp`` files a killed run left behind (old ones only: a running shard's are fresh)."""
    now = time.time()
    for sub in ("images", "masks", "depth", ".records"):
        for tmp in (root / sub).glob(".*.tmp"):
            try:
                if now - tmp.stat().st_mtime > older_than_s:
                    tmp.unlink()
            except FileNotFoundError:
                pass


def _remove_dead_scratch() -> None:
    """Delete pass files (/dev/shm) of render processes that were killed before cleaning up."""
    folder = scratch_exr(1).parent
    for path in folder.glob("sim2real_render_*.exr"):
        try:
            os.kill(int(path.stem.rsplit("_", 1)[1]), 0)
        except ProcessLookupError:
            path.unlink(missing_ok=True)
        except (ValueError, PermissionError, FileNotFoundError):
            pass


def _render(typed, config: dict, args: dict, todo: list[int], on_done):
    from render.workers import PoolStats, run_pool

    if not todo:
        return PoolStats()
    if typed.workers == 0:
        from render.renderer import Renderer, rss_mb

        stats = PoolStats()
        renderer = Renderer(typed, args)
        for n, index in enumerate(todo, 1):
            t = renderer.render_one(index)
            stats.render_s += t.render_s
            stats.total_s += t.total_s
            stats.rss_mb.append((n, 0, rss_mb()))
            stats.done_at.append(time.perf_counter())
            stats.cpu_s.append((0, time.process_time()))
            on_done(index)
        renderer.close()
        return stats
    return run_pool(config, args, todo, workers=typed.workers, recycle_every=max(1, typed.recycle_every),
                    watchdog_s=typed.watchdog_s, on_done=on_done)


def _summary(root: Path, cfg, todo, skipped, seconds, first_done, stats, status, t0: float) -> dict:
    import json

    ann = json.loads((root / "annotations.json").read_text())
    names = {c["id"]: c["name"] for c in ann["categories"]}
    classes = Counter(names[a["category_id"]] for a in ann["annotations"])
    steady = (len(first_done) - 1) / (first_done[-1] - first_done[0]) if len(first_done) > 2 else 0.0
    return {
        "out_dir": str(root), "num_images": cfg.num_images, "rendered": len(todo), "skipped": skipped,
        "seconds": round(seconds, 3), "images_per_s": round(len(todo) / seconds, 4) if seconds > 0 else 0.0,
        "steady_images_per_s": round(steady, 4), "status": status, "classes": dict(sorted(classes.items())),
        "render_fraction": round(stats.render_s / stats.total_s, 4) if stats.total_s else None,
        "render_seconds": round(stats.render_s, 3), "worker_seconds": round(stats.total_s, 3),
        "restarts": stats.restarts, "scene": cfg.scene.name, "reality": cfg.reality.name,
        "stats": {"rss_mb": stats.rss_mb, "done_at": [round(t - t0, 4) for t in stats.done_at],
                  "cpu_s": stats.cpu_s},
    }


def _print_summary(s: dict) -> None:
    msg = (f"rendered {s['rendered']} images ({s['skipped']} already there) in {s['seconds']:.1f} s "
           f"= {s['images_per_s']:.2f} img/s; dataset {s['out_dir']} is {s['status']}; "
           f"boxes per class {s['classes']}")
    log.info(msg)
    Console(stderr=True).print(msg)
