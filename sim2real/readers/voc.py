"""Pascal VOC XML, in both layouts people publish:

- the devkit: ``Annotations/*.xml`` + ``JPEGImages/``, optional ``ImageSets/Main/<split>.txt``;
- labelImg's flat folder: each ``.xml`` beside its image, in any subfolder (``split`` picks one).

The image of an annotation is found by the annotation's stem first (as torchvision's
``VOCDetection`` does: labelImg keeps the original ``<filename>`` after files are renamed),
then by ``<filename>``, then by the base name of ``<path>`` (often the author's Windows path).
``difficult`` objects are kept as ignore regions. An image whose file size differs from the
labelled ``<size>`` by a uniform scale gets its boxes scaled to the file.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from sim2real.errors import DatasetError
from sim2real.readers.checks import clean_boxes, image_index, image_size
from sim2real.records import LabelIssues, LabelledSet, Record, resolve_inside


def is_devkit(root: Path) -> bool:
    return (root / "Annotations").is_dir()


def _is_annotation(xml: Path) -> bool:
    try:
        for _, elem in ET.iterparse(xml, events=("start",)):
            return elem.tag == "annotation"
    except (OSError, ET.ParseError):
        return False
    return False


def flat_annotations(root: Path) -> list[Path]:
    """labelImg's VOC files under ``root`` (any depth), sorted; other XML files are not labels."""
    return [p for p in sorted(Path(root).rglob("*.xml")) if not p.name.startswith(".") and _is_annotation(p)]


def is_flat(root: Path) -> bool:
    return any(_is_annotation(p) for p in sorted(Path(root).rglob("*.xml"))[:5])


def _devkit_annotations(root: Path, split: str | None) -> list[Path]:
    if split:
        split_file = root / "ImageSets" / "Main" / f"{split}.txt"
        if not split_file.is_file():
            raise DatasetError(f"{root}: split {split!r} not found ({split_file})")
        stems = [line.split()[0] for line in split_file.read_text().splitlines() if line.strip()]
        return [resolve_inside(root / "Annotations", f"{stem}.xml", source=split_file) for stem in stems]
    return sorted((root / "Annotations").glob("*.xml"))


def _text(node: ET.Element, tag: str, xml: Path) -> str:
    found = node.find(tag)
    if found is None or found.text is None:
        raise DatasetError(f"{xml}: missing <{tag}>")
    return found.text.strip()


def _number(node: ET.Element, tag: str, xml: Path) -> float:
    text = _text(node, tag, xml)
    try:
        return float(text)
    except ValueError:
        raise DatasetError(f"{xml}: <{tag}> is not a number: {text!r}") from None


def find_image(xml: Path, tree: ET.Element, images_dir: Path, index: dict[str, list[Path]]) -> Path | None:
    """The annotation's image: by its stem, then ``<filename>``, then the base name of ``<path>``."""
    filename = (tree.findtext("filename") or "").strip()
    candidate = resolve_inside(images_dir, filename, source=xml) if filename else None  # refuses escapes
    by_stem = index.get("stem:" + xml.stem.lower(), [])
    if by_stem:
        return by_stem[0]
    if candidate is not None:
        if candidate.is_file():
            return candidate
        hit = index.get("name:" + Path(filename).name.lower())
        if hit:
            return hit[0]
    path = (tree.findtext("path") or "").strip()
    if path:
        base = re.split(r"[\\/]", path)[-1]
        hit = index.get("name:" + base.lower())
        if hit:
            return hit[0]
    return None


def _declared_size(tree: ET.Element, xml: Path) -> tuple[int, int] | None:
    size = tree.find("size")
    if size is None:
        return None
    w, h = int(_number(size, "width", xml)), int(_number(size, "height", xml))
    return (w, h) if w > 0 and h > 0 else None


def _objects(tree: ET.Element, xml: Path) -> tuple[list[list[float]], list[str], list[bool]]:
    boxes, labels, ignore = [], [], []
    for obj in tree.findall("object"):
        name = _text(obj, "name", xml)
        bb = obj.find("bndbox")
        if bb is None:
            raise DatasetError(f"{xml}: object {name!r} has no <bndbox>")
        # VOC boxes are 1-based inclusive pixel indices.
        x0, y0, x1, y1 = (_number(bb, k, xml) for k in ("xmin", "ymin", "xmax", "ymax"))
        boxes.append([x0 - 1, y0 - 1, x1, y1])
        labels.append(name)
        ignore.append((obj.findtext("difficult") or "0").strip() in ("1", "true"))
    return boxes, labels, ignore


def _record(xml: Path, image_id: int, images_dir: Path, index: dict, issues: LabelIssues) -> Record | None:
    try:
        tree = ET.parse(xml).getroot()
    except (OSError, ET.ParseError) as exc:
        raise DatasetError(f"{xml}: cannot parse VOC XML ({exc})") from exc
    image_path = find_image(xml, tree, images_dir, index)
    if image_path is None:
        issues.add("missing_image", xml)
        return None
    boxes, labels, ignore = _objects(tree, xml)
    declared, actual = _declared_size(tree, xml), image_size(image_path)
    size = actual or declared
    b = np.array(boxes, np.float64).reshape(-1, 4)
    if declared and actual and declared != actual:
        sx, sy = actual[0] / declared[0], actual[1] / declared[1]
        if abs(sx - sy) <= 0.01 * max(sx, sy):
            b *= np.array([sx, sy, sx, sy])
            issues.add("rescaled", xml, len(b))
    b, keep = clean_boxes(b, *(size or (None, None)), issues=issues, file=xml)
    kept = np.flatnonzero(keep)
    ign = np.array(ignore, bool)[kept] if ignore else np.zeros(0, bool)
    issues.add("ignored", xml, int(ign.sum()))
    return Record(image_path=image_path, image_id=image_id, boxes=b[kept], labels=[labels[i] for i in kept],
                  ignore=ign, width=size[0] if size else None, height=size[1] if size else None)


def read_voc(path: Path, *, split: str | None = None, **_: object) -> LabelledSet:
    root = Path(path)
    if is_devkit(root):
        xmls, layout = _devkit_annotations(root, split), "devkit"
    else:
        base = root / split if split else root
        if split and not base.is_dir():
            subs = sorted(p.name for p in root.iterdir() if p.is_dir())
            raise DatasetError(f"{root}: split {split!r} is not a subfolder (found {subs})")
        xmls, layout = flat_annotations(base), "flat"
    issues = LabelIssues()
    indexes: dict[Path, dict] = {}
    records, classes = [], set()
    for xml in xmls:
        images_dir = root / "JPEGImages" if layout == "devkit" else xml.parent
        if images_dir not in indexes:
            indexes[images_dir] = image_index(images_dir)
        rec = _record(xml, len(records) + 1, images_dir, indexes[images_dir], issues)
        if rec is not None:
            records.append(rec)
            classes.update(rec.labels)
    if not xmls:
        raise DatasetError(f"{root}: VOC set holds no annotations")
    if not records:
        raise DatasetError(f"{root}: none of its {len(xmls)} VOC annotations has an image beside it "
                           f"(looked up by the annotation's name, <filename> and <path>)")
    return LabelledSet(records=records, classes=sorted(classes), fmt="voc", root=root, issues=issues)
