"""Refine-apply: run a trained generator over a whole sim dataset at full resolution.

Batched (images of equal size go together), resumable (``derive_dataset`` skips images
already written), and label-safe: ``annotations.json``, masks and depth are the source's
bytes; only ``images/`` is new, every image the same size as its source.
"""
from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from rich.progress import Progress

from refiner.data import to_grey3, to_tensor, to_uint8
from refiner.models.base import Refiner
from sim2real import atomic
from sim2real.dataset import Manifest, DatasetReader, derive_dataset

log = logging.getLogger(__name__)


def weights_digest(module: torch.nn.Module) -> str:
    """Short hash of a network's weights: a refined set resumes only with the same generator."""
    h = hashlib.sha256()
    for name, t in sorted(module.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def apply_refiner(model: Refiner, source: DatasetReader, out_dir: Path | str, *, provenance: dict, config: dict,
                  batch_size: int = 8, overwrite: bool = False, grayscale: bool = False,
                  channels_last: bool = False, device: str | torch.device = "cpu") -> Manifest:
    digest = weights_digest(model.generator)
    target = Path(out_dir)
    own = _is_own_earlier_output(target, source, provenance)
    # overwrite=true over another run's set: write beside it, swap when complete (never half of each)
    staged = overwrite and not own and (target / "dataset.json").is_file()
    write_to = target.with_name(f".{target.name}.replacing") if staged else target
    writer = derive_dataset(source, write_to, kind="refined",
                            provenance={**provenance, "generator_sha": digest}, config=config,
                            resume_key={"generator": digest, "source": str(source.root)},
                            overwrite=overwrite or own)
    pending = writer.pending()
    if len(pending) < len(source):
        log.info("refine-apply resumes: %d of %d images already written", len(source) - len(pending), len(source))
    by_size: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i in pending:
        rec = source.records[i]
        by_size[(rec.height or 0, rec.width or 0)].append(i)
    gen = model.generator.to(device).eval()
    if channels_last:
        gen = gen.to(memory_format=torch.channels_last)
    with Progress(transient=True) as progress, torch.inference_mode():
        task = progress.add_task("refine-apply", total=len(pending))
        for indices in by_size.values():
            for k in range(0, len(indices), batch_size):
                chunk = indices[k:k + batch_size]
                imgs = [source.image(i) for i in chunk]
                imgs = [to_grey3(im) if grayscale else im for im in imgs]
                if len({im.shape for im in imgs}) > 1:  # sizes missing from the manifest
                    outs = [model.refine(to_tensor(im)[None].to(device))[0] for im in imgs]
                else:
                    x = torch.stack([to_tensor(im) for im in imgs]).to(device)
                    if channels_last:
                        x = x.contiguous(memory_format=torch.channels_last)
                    outs = list(model.refine(x))
                for i, out in zip(chunk, outs):
                    writer.write(i, to_uint8(out))
                progress.advance(task, len(chunk))
    manifest = writer.finalize()
    if staged:
        log.info("%s: replacing the refined set of another config (overwrite=true)", target)
        atomic.replace_dir(write_to, target)
    return manifest


def _is_own_earlier_output(out_dir: Path, source: DatasetReader, provenance: dict) -> bool:
    """A refined set this refiner wrote from the same source with an earlier checkpoint (e.g.
    before resumed training): stale, safe to replace. Anything else is never overwritten."""
    if not (out_dir / "dataset.json").is_file():
        return False
    try:
        old = Manifest.load(out_dir)
    except Exception:
        return False
    same = (old.kind == "refined" and old.provenance.get("source") == str(source.root)
            and provenance.get("run_key") is not None and old.provenance.get("run_key") == provenance["run_key"])
    if same:
        log.info("%s: replacing refined images made by an earlier checkpoint of this run", out_dir)
    return same


def read_refined(root: Path | str) -> list[np.ndarray]:
    ds = DatasetReader(Path(root))
    return [ds.image(i) for i in range(len(ds))]
