"""Minimal reader for the uncompressed (multi-part) OpenEXR files Blender writes.

Why not OpenEXR/imageio: neither ships in the environment, and the render stage only needs
to read back its own files (scanline, codec NONE, float32/half channels), which is a few
dozen lines of numpy and faster than any general decoder at 128x128.
"""
from __future__ import annotations

import os
import struct
import tempfile
from pathlib import Path

import numpy as np

_PIXEL_DTYPES = {0: np.dtype("<u4"), 1: np.dtype("<f2"), 2: np.dtype("<f4")}


def scratch_exr(pid: int | None = None) -> Path:
    """Where render process ``pid`` writes its passes: RAM-backed /dev/shm when available."""
    shm = Path("/dev/shm")
    folder = shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())
    return folder / f"sim2real_render_{pid or os.getpid()}.exr"


class ExrError(ValueError):
    """The file is not an EXR this reader understands."""


def _read_header(buf: bytes, pos: int) -> tuple[dict, int]:
    header: dict = {}
    while buf[pos] != 0:
        end = buf.index(b"\0", pos)
        name = buf[pos:end].decode()
        tend = buf.index(b"\0", end + 1)
        typ = buf[end + 1:tend].decode()
        (size,) = struct.unpack_from("<i", buf, tend + 1)
        value = buf[tend + 5:tend + 5 + size]
        pos = tend + 5 + size
        if typ == "chlist":
            chans, p = [], 0
            while value[p] != 0:
                e = value.index(b"\0", p)
                (ptype,) = struct.unpack_from("<i", value, e + 1)
                chans.append((value[p:e].decode(), ptype))
                p = e + 17
            header[name] = chans
        elif typ == "box2i":
            header[name] = struct.unpack("<4i", value)
        elif typ == "compression":
            header[name] = value[0]
        elif typ == "int":
            header[name] = struct.unpack("<i", value)[0]
    return header, pos + 1


def read_exr(path: Path) -> dict[str, np.ndarray]:
    """All channels of an uncompressed scanline EXR as ``{name: HxW float32}``, top row first."""
    buf = Path(path).read_bytes()
    if buf[:4] != b"v/1\x01":
        raise ExrError(f"{path}: not an OpenEXR file")
    flags = struct.unpack_from("<I", buf, 4)[0]
    if flags & 0x200 or flags & 0x800:
        raise ExrError(f"{path}: tiled/deep EXR not supported")
    multipart = bool(flags & 0x1000)
    pos, headers = 8, []
    while True:
        header, pos = _read_header(buf, pos)
        headers.append(header)
        if not multipart or buf[pos] == 0:
            pos += 1 if multipart else 0
            break
    out: dict[str, np.ndarray] = {}
    tables = []
    for h in headers:
        x0, y0, x1, y1 = h["dataWindow"]
        height = y1 - y0 + 1
        count = h.get("chunkCount", height)
        tables.append(np.frombuffer(buf, "<u8", count, pos))
        pos += 8 * count
    for part, (h, offsets) in enumerate(zip(headers, tables)):
        if h.get("compression", 0) != 0:
            raise ExrError(f"{path}: compressed EXR (codec {h['compression']}) not supported")
        x0, y0, x1, y1 = h["dataWindow"]
        width, height = x1 - x0 + 1, y1 - y0 + 1
        chans = h["channels"]
        row_bytes = sum(_PIXEL_DTYPES[t].itemsize for _, t in chans) * width
        skip = 12 if multipart else 8  # [part] y size
        data = {name: np.empty((height, width), np.float32) for name, _ in chans}
        # Uncompressed chunks are one scanline each, stored back to back in y order.
        start = int(offsets[0]) + skip
        block = np.frombuffer(buf, np.uint8, height * (row_bytes + skip), start - skip)
        block = block.reshape(height, row_bytes + skip)[:, skip:]
        order = np.argsort([int(o) for o in offsets])
        col = 0
        for name, ptype in chans:
            dt = _PIXEL_DTYPES[ptype]
            n = dt.itemsize * width
            data[name][:] = block[:, col:col + n].copy().view(dt).reshape(height, width)[order]
            col += n
        out.update(data)
    return out
