"""A plain folder of images: unlabelled real photos."""
from __future__ import annotations

from pathlib import Path

from sim2real.errors import DatasetError
from sim2real.images import list_images
from sim2real.records import LabelledSet, Record


def read_folder(path: Path, **_: object) -> LabelledSet:
    paths = list_images(Path(path))
    if not paths:
        raise DatasetError(f"{path}: folder holds no images ({', '.join(sorted({'.png', '.jpg', '.jpeg'}))} ...)")
    records = [Record(image_path=p, image_id=i + 1) for i, p in enumerate(paths)]
    return LabelledSet(records=records, classes=[], fmt="folder", root=Path(path))
