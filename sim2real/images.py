"""Image I/O shared by every stage: tolerant RGB reading, atomic PNG writing."""
from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})


class UnreadableImage(Exception):
    """An image file that cannot be decoded."""


def to_rgb_array(img: Image.Image) -> np.ndarray:
    """Convert any PIL image (greyscale, RGBA, palette, 16-bit, CMYK) to HxWx3 uint8."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img).astype(np.float64)
        hi = 65535.0 if arr.max(initial=0) > 255 else 255.0
        arr = np.clip(arr / hi * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(arr[..., None], 3, axis=2)
    if img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        arr = np.clip(arr * (255.0 if arr.max(initial=0) <= 1.0 else 1.0), 0, 255).astype(np.uint8)
        return np.repeat(arr[..., None], 3, axis=2)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        # Composite on black so transparent padding does not become arbitrary colour.
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))
    return np.asarray(img.convert("RGB"))


# PIL's decompression-bomb limit (~89 Mpx, ~0.27 GB as RGB): a larger image is a counted skip,
# checked from the header before anything is decoded
MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485


def read_rgb(path: Path) -> np.ndarray:
    """Read an image as HxWx3 uint8 RGB; raise ``UnreadableImage`` naming the file."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as img:
                w, h = img.size
                if w * h > MAX_PIXELS:
                    raise UnreadableImage(f"{path}: {w}x{h} pixels, over the limit of {MAX_PIXELS} "
                                          "(a decompression bomb, or a photo to downscale first)")
                img.load()
                return np.ascontiguousarray(to_rgb_array(img))
    except Image.DecompressionBombError as exc:  # PIL refuses twice its limit at open
        raise UnreadableImage(f"{path}: over the pixel limit of {MAX_PIXELS} ({exc})") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise UnreadableImage(f"{path}: cannot decode image ({exc.__class__.__name__}: {exc})") from exc


def read_mask(path: Path) -> np.ndarray:
    """Read a 16-bit instance-id PNG as HxW uint16."""
    with Image.open(path) as img:
        arr = np.asarray(img)
    return arr.astype(np.uint16, copy=False)


class SkipCounter:
    """Counts unreadable images and warns once per file, then once with the total."""

    def __init__(self, what: str = "images") -> None:
        self.what = what
        self.skipped: list[Path] = []

    def read(self, path: Path) -> np.ndarray | None:
        try:
            return read_rgb(path)
        except UnreadableImage as exc:
            self.skipped.append(Path(path))
            warnings.warn(f"skipping unreadable image {exc}", stacklevel=2)
            return None

    def report(self) -> None:
        if self.skipped:
            log.warning("skipped %d unreadable %s", len(self.skipped), self.what)


def write_png(path: Path, array: np.ndarray, *, compress_level: int = 1) -> None:
    """Atomically write an RGB uint8 (HxWx3) or id/depth uint16 (HxW) array as PNG."""
    from sim2real import atomic

    if array.dtype == np.uint16 and array.ndim == 2:
        img = Image.fromarray(array)  # mode I;16
    elif array.dtype == np.uint8 and array.ndim in (2, 3):
        img = Image.fromarray(array)
    else:
        raise ValueError(f"{path}: unsupported array {array.dtype} {array.shape}")
    atomic.write_with(Path(path), lambda p: img.save(p, format="PNG", compress_level=compress_level))


def list_images(folder: Path) -> list[Path]:
    """All image files under ``folder`` (recursive), sorted, hidden files skipped."""
    folder = Path(folder)
    return sorted(
        p
        for p in folder.rglob("*")
        if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file() and not p.name.startswith(".")
    )
