"""Pascal VOC: ``Annotations/*.xml`` + ``JPEGImages/``, optional ``ImageSets/Main/<split>.txt``."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from sim2real.errors import DatasetError
from sim2real.records import LabelledSet, Record, resolve_inside


def _stems(root: Path, split: str | None) -> list[str]:
    if split:
        split_file = root / "ImageSets" / "Main" / f"{split}.txt"
        if not split_file.is_file():
            raise DatasetError(f"{root}: split {split!r} not found ({split_file})")
        return [line.split()[0] for line in split_file.read_text().splitlines() if line.strip()]
    return sorted(p.stem for p in (root / "Annotations").glob("*.xml"))


def _text(node: ET.Element, tag: str, xml: Path) -> str:
    found = node.find(tag)
    if found is None or found.text is None:
        raise DatasetError(f"{xml}: missing <{tag}>")
    return found.text.strip()


def read_voc(path: Path, *, split: str | None = None, **_: object) -> LabelledSet:
    root = Path(path)
    images_dir = root / "JPEGImages"
    records, classes = [], []
    for i, stem in enumerate(_stems(root, split)):
        xml = resolve_inside(root / "Annotations", f"{stem}.xml", source=root / "ImageSets")
        try:
            tree = ET.parse(xml).getroot()
        except (OSError, ET.ParseError) as exc:
            raise DatasetError(f"{xml}: cannot parse VOC XML ({exc})") from exc
        filename = tree.findtext("filename") or f"{stem}.jpg"
        image_path = resolve_inside(images_dir, filename.strip(), source=xml)
        size = tree.find("size")
        width = int(float(_text(size, "width", xml))) if size is not None else None
        height = int(float(_text(size, "height", xml))) if size is not None else None
        boxes, labels = [], []
        for obj in tree.findall("object"):
            if (obj.findtext("difficult") or "0").strip() == "1":
                continue
            name = _text(obj, "name", xml)
            bb = obj.find("bndbox")
            if bb is None:
                raise DatasetError(f"{xml}: object {name!r} has no <bndbox>")
            # VOC boxes are 1-based inclusive pixel indices.
            x0, y0, x1, y1 = (float(_text(bb, k, xml)) for k in ("xmin", "ymin", "xmax", "ymax"))
            boxes.append([x0 - 1, y0 - 1, x1, y1])
            labels.append(name)
            if name not in classes:
                classes.append(name)
        records.append(Record(image_path=image_path, image_id=i + 1, boxes=np.array(boxes, np.float32),
                              labels=labels, width=width, height=height))
    if not records:
        raise DatasetError(f"{root}: VOC set holds no annotations")
    return LabelledSet(records=records, classes=sorted(classes), fmt="voc", root=root)
