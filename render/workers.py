"""Worker processes: spawn K renderers, feed them chunks of indices, recycle, watch for hangs.

Each worker renders at most ``recycle_every`` images and exits, so whatever Blender leaks
is returned to the OS; the parent starts a fresh worker for the next chunk. A worker that
says nothing for ``watchdog_s`` is killed and its unfinished indices go back in the queue
(an index that hangs or crashes twice stops the run with an error naming it).
"""
from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing as mp
import os
import queue as queue_mod
import sys
import time
import traceback
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Callable, Iterable

from render.exr import scratch_exr
from sim2real.errors import Sim2RealError

log = logging.getLogger(__name__)

MAX_TRIES = 2


class RenderFailed(Sim2RealError):
    """A worker failed (bad asset, impossible placement, crash, hang)."""


def worker_main(cfg: dict, writer_args: dict, indices: list[int], out: mp.Queue, wid: int) -> None:
    from render.renderer import Renderer, rss_mb, silence_blender_stdout

    silence_blender_stdout()
    renderer = None
    try:
        renderer = Renderer(cfg, writer_args)
        out.put(("ready", wid, rss_mb()))
        for index in indices:
            t = renderer.render_one(index)
            out.put(("done", wid, index, t.render_s, t.total_s, rss_mb(), time.process_time()))
    except Sim2RealError as exc:
        out.put(("error", wid, str(exc), True))
    except BaseException:  # report, then die: the parent decides what to retry
        out.put(("error", wid, traceback.format_exc(limit=6), False))
    finally:
        if renderer is not None:
            renderer.close()
    out.put(("exit", wid))


@dataclass
class _Worker:
    proc: mp.Process
    pending: set[int]
    current: int | None = None
    last_seen: float = field(default_factory=time.monotonic)


@dataclass
class PoolStats:
    render_s: float = 0.0
    total_s: float = 0.0
    rss_mb: list[tuple[int, int, float]] = field(default_factory=list)  # (images so far, worker, MiB)
    done_at: list[float] = field(default_factory=list)  # perf_counter() of each finished image
    cpu_s: list[tuple[int, float]] = field(default_factory=list)  # (worker, its CPU seconds so far)
    restarts: int = 0


def run_pool(cfg: dict, writer_args: dict, indices: Iterable[int], *, workers: int, recycle_every: int,
             watchdog_s: float, on_done: Callable[[int], None]) -> PoolStats:
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()
    todo = deque(indices)
    tries: Counter = Counter()
    active: dict[int, _Worker] = {}
    stats = PoolStats()
    next_id = 0
    done = 0
    # Poll at least twice per watchdog period: a message only proves the worker alive when it
    # arrives, so a coarser poll would let a worker that is silent for longer go unnoticed.
    poll_s = min(1.0, max(0.01, watchdog_s / 2))
    try:
        while todo or active:
            while todo and len(active) < workers:
                size = min(recycle_every, max(1, math.ceil(len(todo) / workers)))
                chunk = [todo.popleft() for _ in range(min(size, len(todo)))]
                proc = ctx.Process(target=worker_main, args=(cfg, writer_args, chunk, out, next_id), daemon=True)
                _start_clean(proc)
                active[next_id] = _Worker(proc, set(chunk), current=chunk[0])
                next_id += 1
            try:
                msg = out.get(timeout=poll_s)
            except queue_mod.Empty:
                msg = None
            now = time.monotonic()
            if msg is not None:
                kind, wid = msg[0], msg[1]
                w = active.get(wid)
                if w is not None:
                    w.last_seen = now
                if kind == "done" and w is not None:
                    index = msg[2]
                    w.pending.discard(index)
                    w.current = min(w.pending) if w.pending else None
                    stats.render_s += msg[3]
                    stats.total_s += msg[4]
                    done += 1
                    stats.rss_mb.append((done, wid, msg[5]))
                    stats.done_at.append(time.perf_counter())
                    stats.cpu_s.append((wid, msg[6]))
                    on_done(index)
                elif kind == "error":
                    raise RenderFailed(msg[2] if msg[3] else f"render worker crashed:\n{msg[2]}")
                elif kind == "exit" and w is not None:
                    w.proc.join(timeout=30)
                    _retire(active, wid, todo, tries, stats, "exited early")
            for wid, w in list(active.items()):
                silent = now - w.last_seen
                if not w.proc.is_alive() and w.pending and silent > 5:
                    _retire(active, wid, todo, tries, stats, f"died (exit code {w.proc.exitcode})")
                elif silent > watchdog_s:
                    log.warning("worker %d silent for %.0f s on image %s: killing it", wid, silent, w.current)
                    w.proc.kill()
                    w.proc.join(timeout=10)
                    _retire(active, wid, todo, tries, stats, f"hung for {silent:.0f} s")
    finally:
        for w in active.values():
            w.proc.kill()
            w.proc.join(timeout=10)
            scratch_exr(w.proc.pid).unlink(missing_ok=True)
    return stats


@contextlib.contextmanager
def clean_spawn():
    """While processes are spawned: no Blender script folders on sys.path, and "spawn" as the
    start method.

    Once ``bpy`` is imported here (``workers=0`` earlier, or a test), sys.path holds
    ``bpy/<version>/scripts/modules``, which also contains a package named ``bpy``; a
    spawned child inherits sys.path and would import that one instead of the real module.
    Inside a joblib/loky worker the default start method is "loky", which the child (told to
    use its parent's default) cannot find.
    """
    saved = sys.path[:]
    marker = f"{os.sep}bpy{os.sep}"
    sys.path[:] = [p for p in saved if not (marker in p and f"{os.sep}scripts" in p)]
    method = mp.get_start_method(allow_none=True)
    if method not in (None, "spawn"):
        mp.set_start_method("spawn", force=True)
    try:
        yield
    finally:
        sys.path[:] = saved
        if method not in (None, "spawn"):
            mp.set_start_method(method, force=True)


def _start_clean(proc: mp.Process) -> None:
    with clean_spawn():
        proc.start()


def _retire(active: dict, wid: int, todo: deque, tries: Counter, stats: PoolStats, why: str) -> None:
    w = active.pop(wid)
    scratch_exr(w.proc.pid).unlink(missing_ok=True)  # a killed worker cannot clean up itself
    if not w.pending:
        return
    stats.restarts += 1
    if w.current is not None:
        tries[w.current] += 1
        if tries[w.current] >= MAX_TRIES:
            raise RenderFailed(f"image {w.current}: render worker {why} {MAX_TRIES} times; giving up")
    log.warning("worker %d %s; re-queueing %d images", wid, why, len(w.pending))
    todo.extendleft(sorted(w.pending, reverse=True))
