"""Atomic writes: write to a temporary file beside the target, then rename over it.

A reader never sees a torn file, and a process killed mid-write leaves only a ``.tmp`` file
that the next write of the same target replaces. Files get the permissions a plain ``open``
would give them (0666 less the umask), not ``mkstemp``'s owner-only 0600, so datasets and
reports stay readable by a team or a web server.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable


def _read_umask() -> int:
    mask = os.umask(0o022)  # the only way to read it is to set it; read once, at import
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_read_umask()


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _FILE_MODE)
    finally:
        os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_bytes(path: Path, data: bytes) -> None:
    _atomic(path, lambda p: p.write_bytes(data))


def write_text(path: Path, text: str) -> None:
    _atomic(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_json(path: Path, obj: Any, *, indent: int | None = None) -> None:
    write_text(path, json.dumps(obj, indent=indent, default=_json_default))


def write_with(path: Path, writer: Callable[[Path], None]) -> None:
    """Atomically create ``path`` with ``writer(tmp_path)`` (e.g. an image encoder)."""
    _atomic(path, writer)


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def replace_dir(new: Path, target: Path) -> None:
    """Put the finished folder ``new`` in ``target``'s place: two renames, so ``target`` is
    always either the old folder whole or the new one whole (a kill between the renames leaves
    the old one as ``.<name>.old`` beside it)."""
    import shutil

    new, target = Path(new), Path(target)
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.rename(target, old)
    os.rename(new, target)
    shutil.rmtree(old, ignore_errors=True)
