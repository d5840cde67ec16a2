"""The dataset contract between stages (docs/design.md): writer and reader.

    <root>/dataset.json       manifest (status partial until every image is written)
    <root>/annotations.json   COCO with per-image ``meta`` and per-annotation ``instance_id``
    <root>/images/<stem>.png  RGB
    <root>/masks/<stem>.png   16-bit instance ids (0 = background)
    <root>/depth/<stem>.npy   float32 depth in scene units (optional)
    <root>/.records/<stem>.json  per-image labels, written last: an image is done when its
                              record exists. Lets killed runs and parallel shards resume.
"""
from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from sim2real import atomic
from sim2real.errors import DatasetError
from sim2real.images import read_mask, read_rgb, write_png
from sim2real.masks import xywh_to_xyxy
from sim2real.records import LabelledSet, Record, box_attributes, resolve_inside

log = logging.getLogger(__name__)

FORMAT = "sim2real-dataset"
VERSION = 1
KINDS = ("sim", "refined", "real")


@dataclass
class Manifest:
    name: str
    kind: str
    classes: list[str]
    num_images: int
    status: str = "partial"
    seed: int | None = None
    config: dict = field(default_factory=dict)
    fingerprint: str = ""
    provenance: dict = field(default_factory=dict)
    created: float = field(default_factory=time.time)
    format: str = FORMAT
    version: int = VERSION

    @classmethod
    def load(cls, root: Path) -> "Manifest":
        path = Path(root) / "dataset.json"
        if not path.is_file():
            raise DatasetError(f"{root}: not a sim2real dataset (no dataset.json)")
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}: invalid JSON ({exc})") from exc
        if data.get("format") != FORMAT:
            raise DatasetError(f"{path}: format is {data.get('format')!r}, expected {FORMAT!r}")
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    def save(self, root: Path) -> None:
        atomic.write_json(Path(root) / "dataset.json", asdict(self), indent=2)


def fingerprint(config: Any) -> str:
    """Stable short hash of a JSON-able config (what decides whether a run may resume)."""
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def stem_of(index: int) -> str:
    return f"{index:06d}"


class DatasetWriter:
    """Writes a dataset image by image; safe to resume and to share between shard processes.

    Opening a root that already holds a dataset with the same fingerprint resumes it; a
    different fingerprint is refused (nothing is overwritten) unless ``overwrite=True``.
    """

    def __init__(
        self,
        root: Path,
        *,
        name: str,
        kind: str,
        classes: Sequence[str],
        num_images: int,
        config: dict | None = None,
        seed: int | None = None,
        provenance: dict | None = None,
        resume_key: Any = None,
        overwrite: bool = False,
    ) -> None:
        if kind not in KINDS:
            raise DatasetError(f"dataset kind must be one of {KINDS}, got {kind!r}")
        self.root = Path(root)
        self.records_dir = self.root / ".records"
        fp = fingerprint(resume_key if resume_key is not None else config or {})
        manifest_path = self.root / "dataset.json"
        if manifest_path.exists():
            old = Manifest.load(self.root)
            if old.fingerprint != fp or old.num_images != num_images:
                if not overwrite:
                    raise DatasetError(
                        f"{self.root}: holds a dataset made with another config "
                        f"(fingerprint {old.fingerprint} != {fp}); choose another out_dir or set overwrite=true"
                    )
                self._clear()
        for sub in ("images", "masks", ".records"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.manifest = Manifest(
            name=name, kind=kind, classes=list(classes), num_images=int(num_images),
            seed=seed, config=config or {}, fingerprint=fp, provenance=provenance or {},
        )
        if manifest_path.exists():
            self.manifest.created = Manifest.load(self.root).created
            self.manifest.status = "partial"
        self.manifest.save(self.root)

    def _clear(self) -> None:
        for sub in ("images", "masks", "depth", ".records"):
            shutil.rmtree(self.root / sub, ignore_errors=True)
        for f in ("annotations.json", "dataset.json"):
            (self.root / f).unlink(missing_ok=True)

    @property
    def category_ids(self) -> dict[str, int]:
        return {name: i + 1 for i, name in enumerate(self.manifest.classes)}

    def is_done(self, index: int) -> bool:
        return (self.records_dir / f"{stem_of(index)}.json").is_file()

    def done_indices(self) -> set[int]:
        return {int(p.stem) for p in self.records_dir.glob("*.json")}

    def add(
        self,
        index: int,
        *,
        image: np.ndarray,
        mask: np.ndarray | None,
        annotations: list[dict],
        meta: dict,
        depth: np.ndarray | None = None,
    ) -> None:
        """Write one image, its id map, depth and labels; the record is written last."""
        stem = stem_of(index)
        h, w = image.shape[:2]
        write_png(self.root / "images" / f"{stem}.png", image)
        if mask is not None:
            if mask.shape != (h, w):
                raise DatasetError(f"mask {mask.shape} does not match image {(h, w)} for {stem}")
            write_png(self.root / "masks" / f"{stem}.png", mask.astype(np.uint16))
        if depth is not None:
            path = self.root / "depth" / f"{stem}.npy"
            path.parent.mkdir(exist_ok=True)
            atomic.write_with(path, lambda p: np.save(open(p, "wb"), depth.astype(np.float32)))
        record = {
            "image": {
                "id": index + 1,
                "file_name": f"images/{stem}.png",
                "mask_file": f"masks/{stem}.png" if mask is not None else None,
                "depth_file": f"depth/{stem}.npy" if depth is not None else None,
                "width": int(w),
                "height": int(h),
                "meta": meta,
            },
            "annotations": annotations,
        }
        atomic.write_json(self.records_dir / f"{stem}.json", record)

    def finalize(self) -> Manifest:
        """Gather the records into annotations.json; status becomes complete when all are there."""
        records = sorted(self.records_dir.glob("*.json"))
        images, anns = [], []
        for path in records:
            rec = json.loads(path.read_text())
            images.append(rec["image"])
            for ann in rec["annotations"]:
                anns.append({**ann, "id": len(anns) + 1, "image_id": rec["image"]["id"]})
        coco = {
            "info": {"description": self.manifest.name, "kind": self.manifest.kind},
            "images": images,
            "annotations": anns,
            "categories": [{"id": i, "name": n} for n, i in self.category_ids.items()],
        }
        atomic.write_json(self.root / "annotations.json", coco)
        complete = len(images) >= self.manifest.num_images
        self.manifest.status = "complete" if complete else "partial"
        self.manifest.save(self.root)
        return self.manifest


class DatasetReader:
    """Reads a dataset in the contract (sim, refined or real written by sim2real)."""

    def __init__(self, root: Path, *, require_complete: bool = False) -> None:
        self.root = Path(root)
        self.manifest = Manifest.load(self.root)
        if require_complete and self.manifest.status != "complete":
            raise DatasetError(f"{self.root}: dataset status is {self.manifest.status!r}, not complete")
        ann_path = self.root / "annotations.json"
        if not ann_path.is_file():
            raise DatasetError(f"{self.root}: no annotations.json (run the stage again to finish it)")
        try:
            self.coco = json.loads(ann_path.read_text())
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{ann_path}: invalid JSON ({exc})") from exc
        self.classes = [c["name"] for c in sorted(self.coco["categories"], key=lambda c: c["id"])]
        self._name_of = {c["id"]: c["name"] for c in self.coco["categories"]}
        by_image: dict[int, list[dict]] = {}
        for ann in self.coco["annotations"]:
            by_image.setdefault(ann["image_id"], []).append(ann)
        self.records = [self._record(img, by_image.get(img["id"], [])) for img in self.coco["images"]]

    def _record(self, img: dict, anns: list[dict]) -> Record:
        src = self.root / "annotations.json"
        mask_file = img.get("mask_file")
        return Record(
            image_path=resolve_inside(self.root, img["file_name"], source=src),
            image_id=int(img["id"]),
            boxes=xywh_to_xyxy(np.array([a["bbox"] for a in anns], np.float32)),
            labels=[self._name_of[a["category_id"]] for a in anns],
            width=img.get("width"),
            height=img.get("height"),
            instance_ids=[int(a.get("instance_id", 0)) for a in anns],
            segmentations=[a.get("segmentation") for a in anns],
            mask_path=resolve_inside(self.root, mask_file, source=src) if mask_file else None,
            meta=img.get("meta", {}),
            ignore=[bool(a.get("iscrowd", 0)) for a in anns],
            box_attrs=[box_attributes(a) for a in anns],
        )

    def __len__(self) -> int:
        return len(self.records)

    @property
    def has_masks(self) -> bool:
        return bool(self.records) and all(r.mask_path is not None and r.mask_path.is_file() for r in self.records)

    def image(self, i: int) -> np.ndarray:
        return read_rgb(self.records[i].image_path)

    def mask(self, i: int) -> np.ndarray:
        path = self.records[i].mask_path
        if path is None:
            raise DatasetError(f"{self.root}: image {self.records[i].image_path.name} has no mask")
        return read_mask(path)

    def as_labelled(self) -> LabelledSet:
        return LabelledSet(records=self.records, classes=self.classes, fmt="sim2real", root=self.root)


def derive_dataset(
    source: DatasetReader, root: Path, *, kind: str, provenance: dict, config: dict | None = None,
    resume_key: Any = None, overwrite: bool = False,
) -> "DerivedWriter":
    """Start a dataset with the source's labels, masks and depth (e.g. a refined set)."""
    return DerivedWriter(source, root, kind=kind, provenance=provenance, config=config,
                         resume_key=resume_key, overwrite=overwrite)


class DerivedWriter:
    """Writes new pixels for an existing dataset; ``annotations.json`` is copied byte for byte."""

    def __init__(self, source: DatasetReader, root: Path, *, kind: str, provenance: dict,
                 config: dict | None, resume_key: Any, overwrite: bool) -> None:
        self.source = source
        self.root = Path(root)
        m = source.manifest
        self.writer = DatasetWriter(
            self.root, name=self.root.name, kind=kind, classes=m.classes, num_images=len(source),
            config=config, seed=m.seed, provenance={"source": str(source.root), **provenance},
            resume_key=resume_key, overwrite=overwrite,
        )
        for sub in ("masks", "depth"):
            src = source.root / sub
            if src.is_dir():
                shutil.copytree(src, self.root / sub, dirs_exist_ok=True)
        shutil.copyfile(source.root / "annotations.json", self.root / ".annotations.json.tmp")
        (self.root / ".annotations.json.tmp").replace(self.root / "annotations.json")

    def is_done(self, i: int) -> bool:
        return (self.root / "images" / self.source.records[i].image_path.name).is_file()

    def pending(self) -> list[int]:
        return [i for i in range(len(self.source)) if not self.is_done(i)]

    def write(self, i: int, image: np.ndarray) -> None:
        rec = self.source.records[i]
        if rec.height is not None and image.shape[:2] != (rec.height, rec.width):
            raise DatasetError(f"refined image {image.shape[:2]} differs from source size for {rec.image_path.name}")
        write_png(self.root / "images" / rec.image_path.name, image)

    def finalize(self) -> Manifest:
        m = self.writer.manifest
        m.status = "complete" if not self.pending() else "partial"
        m.save(self.root)
        return m

