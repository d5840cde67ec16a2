"""The Lightning wrapper: a torchvision detector, its optimiser, and validation mAP.

Kept thin on purpose (the speed benchmark holds it to <10% over a plain loop): the training
step is the model's own loss dict summed (plus, with ``align``, the domain classifier's loss on
the same features and on a batch of photos: train/align.py); validation feeds torchmetrics' mAP,
which Lightning syncs across DDP processes.
"""
from __future__ import annotations

import logging
import math
import warnings
from contextlib import contextmanager
from typing import Any

import pytorch_lightning as pl
import torch
from torch import nn
from torchmetrics.detection import MeanAveragePrecision

from sim2real.instantiate import make_optimizer
from train.align import DomainAlign, ramp
from train.evaluate import BACKEND

log = logging.getLogger(__name__)


@contextmanager
def running_batch_norm(module: nn.Module):
    """BatchNorm layers normalise with, and leave alone, their running statistics (the renders').

    The photos' pass must not: batch statistics of their own would normalise each domain apart
    in training (an easy cue for the domain classifier, lost at test time), and updating the
    running statistics with them would mix two domains into the statistics the renders are
    tested with.
    """
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training]
    for m in norms:
        m.eval()
    try:
        yield
    finally:
        for m in norms:
            m.train()


class DetectorModule(pl.LightningModule):
    """Trains ``model`` (a torchvision detector) with the loss it returns in train mode."""

    def __init__(self, model: nn.Module, *, optimizer: dict, lr_scale: float = 1.0, warmup_steps: int = 0,
                 lr_schedule: str = "cosine", channels_last: bool = False, augment: Any = None,
                 detector: dict | None = None, align: DomainAlign | None = None) -> None:
        super().__init__()
        if detector:  # what rebuilds the model, in every checkpoint (train/checkpoint.py)
            self.save_hyperparameters({"detector": detector})
        self.model = model
        self.optimizer_cfg = dict(optimizer)
        self.lr_scale = lr_scale
        self.warmup_steps = warmup_steps
        self.lr_schedule = lr_schedule
        self.channels_last = channels_last
        self.augment = augment  # DetectionAugment: batched, label-aware, training only
        # with align, a batch is {"renders": (images, targets), "photos": (images, _)} (train/align.py)
        self.align = align
        self._features: Any = None  # the backbone's output on the renders, kept by a hook while fitting
        self._hook: Any = None
        self.val_map = MeanAveragePrecision(box_format="xyxy", iou_type="bbox", backend=BACKEND)
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)

    def forward(self, images: list[torch.Tensor]) -> list[dict]:
        return self.model(images)

    def on_fit_start(self) -> None:
        if self.align is not None:
            self._hook = self.model.backbone.register_forward_hook(self._keep_features)

    def on_fit_end(self) -> None:
        if self._hook is not None:
            self._hook.remove()
            self._hook, self._features = None, None

    def _keep_features(self, module: nn.Module, inputs: Any, output: Any) -> None:
        self._features = output

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        photos = None
        if isinstance(batch, dict):
            batch, photos = batch["renders"], batch["photos"][0]
        images, targets = batch
        if self.augment is not None:
            images, targets = self.augment(images, targets)
        losses = self.model(images, targets)
        if self.align is not None and photos is not None:
            losses["loss_domain"] = self._domain_loss(photos, len(images))
        loss = sum(losses.values())
        self.log("train/loss", loss, prog_bar=True, batch_size=len(images))
        for name, value in losses.items():
            self.log(f"train/{name}", value, batch_size=len(images))
        return loss

    def _domain_loss(self, photos: list[torch.Tensor], batch_size: int) -> torch.Tensor:
        """The domain classifier's loss on the renders' features (kept by the hook) and the photos'."""
        renders = self._features
        if self.augment is not None:  # the photos get the renders' colour and noise, so neither tells the domain
            photos, _ = self.augment(photos, [{"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}
                                              for _ in photos])
        tensors = self.model.transform(photos)[0].tensors
        with running_batch_norm(self.model.backbone):
            features = self.model.backbone(tensors)
        coeff = ramp(self.global_step / max(1, int(self.trainer.estimated_stepping_batches)))
        loss, accuracy = self.align(renders, features, coeff)
        self.log("train/domain_acc", accuracy, batch_size=batch_size)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        images, targets = batch
        preds = self.model(images)
        self.val_map.update(preds, [{k: t[k] for k in ("boxes", "labels", "iscrowd") if k in t} for t in targets])

    def on_validation_epoch_end(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = self.val_map.compute()
        self.val_map.reset()
        self.log("val/map50", res["map_50"].clamp(min=0), prog_bar=True, sync_dist=False)
        self.log("val/map", res["map"].clamp(min=0), sync_dist=False)
        if self.trainer.is_global_zero and not self.trainer.sanity_checking:
            log.info("epoch %d: val/map50 %.3f val/map %.3f", self.current_epoch,
                     float(res["map_50"]), float(res["map"]))

    def configure_optimizers(self) -> Any:
        node = {**self.optimizer_cfg}
        node["lr"] = float(node.get("lr", 1e-3)) * self.lr_scale
        opt = make_optimizer(node, [p for p in self.parameters() if p.requires_grad])  # the model's (and align's)
        total = max(1, int(self.trainer.estimated_stepping_batches))
        warmup = min(self.warmup_steps, total // 4)

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / (warmup + 1)
            if self.lr_schedule == "constant":
                return 1.0
            progress = (step - warmup) / max(1, total - warmup)
            return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
