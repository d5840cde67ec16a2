"""The detectors (``detector.name``), each registered next to its builder (train/registry.py),
and ``create(name, num_classes, image_size, **kw)``.

Every model is a torchvision detector built with ``weights=None, weights_backbone=None``
(nothing downloads); a local weights file can be given instead and a missing one is a
``ConfigError``. Input size and anchors follow the data: ``min_size = max_size = image_size``
so 128-pixel renders stay 128 pixels, and anchor sizes span the training boxes' sizes
(or, without box statistics, the torchvision defaults scaled by ``image_size / 800``).

``num_classes`` counts object classes only; label 0 is background for every model, so the
models are built with ``num_classes + 1`` outputs.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Sequence

import numpy as np
from torch import nn
from torchvision.models import detection as tvd
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.fcos import FCOSHead
from torchvision.models.detection.rpn import RPNHead
from torchvision.models.detection.transform import GeneralizedRCNNTransform
from torchvision.ops import MultiScaleRoIAlign

from sim2real.errors import ConfigError
from train import weights as W
from train.backbones import tiny_fpn_backbone
from train.registry import DETECTORS, register

log = logging.getLogger(__name__)


# What callers may ask of a detector before building it (``register(name, **info)``):
#   needs_masks: it trains on instance masks (Mask R-CNN)
#   adapt_anchors: anchor-based (RPN / RetinaNet); FCOS and SSD keep their own scheme
#   torchvision: its torchvision builder, whose weight names (DEFAULT, COCO_V1, ...) it accepts
INFO_DEFAULTS = {"needs_masks": False, "adapt_anchors": True, "torchvision": None}


def info(name: str, key: str) -> Any:
    return DETECTORS.get(name).info.get(key, INFO_DEFAULTS[key])


# --- torchvision's detectors, untrained ------------------------------------------------------

def _rcnn_small_image_defaults(image_size: int) -> dict[str, int]:
    """Proposal and RoI sampling counts for small inputs.

    torchvision's defaults (2000 proposals, 512 sampled RoIs per image) are sized for 800-px
    COCO photos; on a 128-px render they multiply the RoI-head cost ~10x for no gain.
    """
    if image_size >= 512:
        return {}
    return dict(rpn_pre_nms_top_n_train=600, rpn_post_nms_top_n_train=300, rpn_pre_nms_top_n_test=300,
                rpn_post_nms_top_n_test=100, rpn_batch_size_per_image=128, box_batch_size_per_image=128)


def _tv(fn: Callable[..., nn.Module], *, rcnn: bool = False) -> Callable[..., nn.Module]:
    def build(num_classes: int, image_size: int, **kw: Any) -> nn.Module:
        """torchvision's builder, untrained, at the data's input size."""
        defaults = _rcnn_small_image_defaults(image_size) if rcnn else {}
        return fn(weights=None, weights_backbone=None, num_classes=num_classes,
                  min_size=image_size, max_size=image_size, **{**defaults, **kw})

    return build


register("fasterrcnn_mobilenet_v3_large_fpn", torchvision=tvd.fasterrcnn_mobilenet_v3_large_fpn)(_tv(tvd.fasterrcnn_mobilenet_v3_large_fpn, rcnn=True))
register("fasterrcnn_resnet50_fpn_v2", torchvision=tvd.fasterrcnn_resnet50_fpn_v2)(_tv(tvd.fasterrcnn_resnet50_fpn_v2, rcnn=True))
register("retinanet_resnet50_fpn_v2", torchvision=tvd.retinanet_resnet50_fpn_v2)(_tv(tvd.retinanet_resnet50_fpn_v2))
register("fcos_resnet50_fpn", adapt_anchors=False, torchvision=tvd.fcos_resnet50_fpn)(_tv(tvd.fcos_resnet50_fpn))
register("maskrcnn_resnet50_fpn_v2", needs_masks=True, torchvision=tvd.maskrcnn_resnet50_fpn_v2)(_tv(tvd.maskrcnn_resnet50_fpn_v2, rcnn=True))


@register("ssdlite320_mobilenet_v3_large", adapt_anchors=False, torchvision=tvd.ssdlite320_mobilenet_v3_large)
def _ssdlite(num_classes: int, image_size: int, **kw: Any) -> nn.Module:
    """torchvision SSDlite (MobileNetV3) with its fixed input size set to the data's."""
    model = tvd.ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=num_classes, **kw)
    t = model.transform
    model.transform = GeneralizedRCNNTransform(image_size, image_size, t.image_mean, t.image_std,
                                               size_divisible=1, fixed_size=(image_size, image_size))
    return model


# --- light detectors for CPU training from scratch ------------------------------------------

@register("fasterrcnn_tiny")
def _fasterrcnn_tiny(num_classes: int, image_size: int, *, fpn_channels: int = 64, blocks: int = 1,
                     widths: Sequence[int] = (16, 32, 64, 96, 128), representation: int = 128,
                     **kw: Any) -> nn.Module:
    """Faster R-CNN on a TinyResNet-FPN (strides 8..64), sampling sized for small images."""
    backbone = tiny_fpn_backbone(levels=(2, 3, 4), out_channels=fpn_channels, blocks=blocks, widths=widths)
    anchors = AnchorGenerator(((16,), (32,), (64,), (128,)), ((0.5, 1.0, 2.0),) * 4)
    defaults = {**_rcnn_small_image_defaults(image_size), "box_batch_size_per_image": 64}
    return tvd.FasterRCNN(
        backbone, num_classes=None, min_size=image_size, max_size=image_size,
        rpn_anchor_generator=anchors, rpn_head=RPNHead(fpn_channels, 3),
        box_roi_pool=MultiScaleRoIAlign(["0", "1", "2"], 7, 2),
        box_head=TwoMLPHead(fpn_channels * 49, representation),
        box_predictor=FastRCNNPredictor(representation, num_classes), **{**defaults, **kw},
    )


@register("fcos_tiny", adapt_anchors=False)
def _fcos_tiny(num_classes: int, image_size: int, *, fpn_channels: int = 64, blocks: int = 1,
               widths: Sequence[int] = (16, 32, 64, 96, 128), head_convs: int = 2, **kw: Any) -> nn.Module:
    """FCOS (anchor-free) on a TinyResNet-FPN at strides 8..64 with a 2-conv head: the CPU default."""
    backbone = tiny_fpn_backbone(levels=(2, 3, 4), out_channels=fpn_channels, blocks=blocks, widths=widths)
    anchors = AnchorGenerator(((8,), (16,), (32,), (64,)), ((1.0,),) * 4)
    head = FCOSHead(fpn_channels, 1, num_classes, num_convs=head_convs)
    defaults = dict(score_thresh=0.05, detections_per_img=100, topk_candidates=300)
    return tvd.FCOS(backbone, num_classes, min_size=image_size, max_size=image_size,
                    anchor_generator=anchors, head=head, **{**defaults, **kw})


# --- adapting anchors ---------------------------------------------

def auto_anchor_sizes(template: Sequence[Sequence[int]], image_size: int,
                      box_sizes: np.ndarray | None = None) -> tuple[tuple[int, ...], ...]:
    """Keep the template's layout (levels x sizes per level) but span the data's box sizes.

    With ``box_sizes`` (sqrt of box areas in pixels) the sizes run geometrically from a bit
    below the 1st percentile to a bit above the 99th; without, the template is scaled by
    ``image_size / 800`` (torchvision's reference input size).
    """
    flat = [s for level in template for s in level]
    if box_sizes is not None and len(box_sizes) >= 4:
        lo = max(4.0, float(np.percentile(box_sizes, 1)) * 0.75)
        hi = max(lo * 2.0, float(np.percentile(box_sizes, 99)) * 1.5)
        values = np.geomspace(lo, hi, num=len(flat))
    else:
        values = np.maximum(4.0, np.asarray(flat, float) * image_size / 800.0)
    out, i = [], 0
    for level in template:
        out.append(tuple(int(round(v)) for v in values[i:i + len(level)]))
        i += len(level)
    return tuple(out)


def _set_anchors(model: nn.Module, sizes: Sequence[Sequence[int]] | None, image_size: int,
                 box_sizes: np.ndarray | None) -> None:
    owner = model.rpn if hasattr(model, "rpn") else model
    gen = getattr(owner, "anchor_generator", None)
    if not isinstance(gen, AnchorGenerator):
        return
    new = tuple(tuple(int(s) for s in lvl) for lvl in sizes) if sizes else auto_anchor_sizes(gen.sizes, image_size, box_sizes)
    if [len(lvl) for lvl in new] != [len(lvl) for lvl in gen.sizes]:
        raise ConfigError(f"detector.anchor_sizes needs {len(gen.sizes)} levels of "
                          f"{[len(lvl) for lvl in gen.sizes]} sizes, got {[list(lvl) for lvl in new]}")
    owner.anchor_generator = AnchorGenerator(new, gen.aspect_ratios)
    log.info("anchor sizes %s", [list(lvl) for lvl in new])


def create(name: str, num_classes: int, image_size: int, *, weights: str | None = None,
           weights_backbone: str | None = None, download: bool = False,
           anchor_sizes: Sequence[Sequence[int]] | None = None, box_sizes: np.ndarray | None = None,
           **kw: Any) -> nn.Module:
    """Build detector ``name`` for ``num_classes`` object classes on ``image_size`` inputs.

    ``weights`` / ``weights_backbone``: a local state-dict file (whole model / backbone body) or
    a torchvision weights name read from the torch hub cache (train/weights.py; ``download``
    lets a missing one be fetched). ``anchor_sizes``: explicit sizes per level; default follows
    ``box_sizes``. Further keywords go to the builder (e.g. ``box_score_thresh``, ``fpn_channels``).
    """
    if num_classes < 1:
        raise ConfigError(f"detector needs at least one class, got {num_classes}")
    model = DETECTORS.create(name, num_classes + 1, int(image_size), **kw)
    if info(name, "adapt_anchors"):
        _set_anchors(model, anchor_sizes, int(image_size), box_sizes)
    elif anchor_sizes:
        raise ConfigError(f"detector.anchor_sizes: {name} does not use configurable anchors")
    builder = info(name, "torchvision")
    if weights_backbone:
        key = "detector.weights_backbone"
        file = W.resolve(str(weights_backbone), builder, backbone=True, download=download, key=key, detector=name)
        body = getattr(model.backbone, "body", model.backbone)
        W.load_matching(body, W.for_body(W.state_dict_from(file, key), body), key)
    if weights:
        key = "detector.weights"
        file = W.resolve(str(weights), builder, backbone=False, download=download, key=key, detector=name)
        W.load_matching(model, W.state_dict_from(file, key), key)
    return model


def needs_masks(name: str) -> bool:
    return bool(info(name, "needs_masks"))


def names() -> list[str]:
    return DETECTORS.names()
