"""A trained detector as ONNX (``sim2real-export ckpt=... format=onnx``).

The graph takes one float image ``3 x S x S`` in [0, 1], S the detector's input size (resize or
letterbox a photo to it first), and returns ``boxes`` (xyxy in that image's pixels), ``scores``
and ``labels`` (class k is ``labels == k + 1``; ``detector.json`` beside the model lists the
classes). It uses torch's TorchScript exporter at opset 17. When onnxruntime is installed the
export is checked: ONNX Runtime must give the same boxes as PyTorch on a few images.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from sim2real.errors import ConfigError
from train.checkpoint import load_detector

log = logging.getLogger(__name__)


def _check_images(paths: Sequence[Path], size: int, count: int = 3) -> list[torch.Tensor]:
    """Up to ``count`` of ``paths`` resized to ``size`` (random images when none are given)."""
    from PIL import Image

    from sim2real.images import read_rgb

    out = []
    for path in list(paths)[:count]:
        img = Image.fromarray(read_rgb(path)).resize((size, size))
        out.append(torch.from_numpy(np.array(img)).permute(2, 0, 1).float().div(255))
    rng = np.random.default_rng(0)
    while len(out) < count:
        out.append(torch.from_numpy(rng.uniform(0, 1, (3, size, size)).astype(np.float32)))
    return out


def compare_with_onnxruntime(model: torch.nn.Module, file: Path, images: Sequence[torch.Tensor]) -> dict | None:
    """Max box difference between PyTorch and ONNX Runtime (None when onnxruntime is missing)."""
    try:
        import onnxruntime as ort
    except ImportError:
        log.info("onnxruntime is not installed: the export is not checked")
        return None
    session = ort.InferenceSession(str(file), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    worst, counts = 0.0, []
    for image in images:
        with torch.no_grad():
            ref = model([image])[0]
        boxes, scores, _ = session.run(None, {name: image.numpy()})
        if boxes.shape != tuple(ref["boxes"].shape):
            raise ConfigError(f"{file}: ONNX Runtime gives {boxes.shape[0]} boxes where PyTorch gives "
                              f"{ref['boxes'].shape[0]}")
        if len(boxes):
            worst = max(worst, float(np.abs(boxes - ref["boxes"].numpy()).max()))
        counts.append(int(len(boxes)))
    return {"images": len(images), "boxes": counts, "max_box_difference_px": worst}


def export_onnx(ckpt: str | Path, out_dir: str | Path, *, check_images: Sequence[Path] = (), opset: int = 17,
                tolerance_px: float = 1e-2, overwrite: bool = False) -> dict:
    from sim2real.export import publish, staged

    det = load_detector(ckpt)
    out = Path(out_dir)
    staging = staged(out, overwrite)
    size = det.image_size
    example = torch.rand(3, size, size)
    file = staging / "detector.onnx"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on constants; the check below is what counts
        torch.onnx.export(det.model, ([example],), str(file), opset_version=opset, dynamo=False,
                          input_names=["image"], output_names=["boxes", "scores", "labels"])
    check = compare_with_onnxruntime(det.model, file, _check_images(check_images, size))
    if check and check["max_box_difference_px"] > tolerance_px:
        raise ConfigError(f"{ckpt}: ONNX Runtime's boxes differ from PyTorch's by {check['max_box_difference_px']:.4f} px")
    summary = {"format": "onnx", "checkpoint": str(det.path), "detector": det.name, "classes": det.classes,
               "input": [3, size, size], "opset": opset, "onnxruntime_check": check}
    (staging / "detector.json").write_text(json.dumps(summary, indent=1))
    publish(staging, out)
    log.info("exported %s to %s%s", det.name, out / "detector.onnx",
             f" (ONNX Runtime boxes within {check['max_box_difference_px']:.2e} px of PyTorch's)" if check else "")
    return summary
