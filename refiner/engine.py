"""Lightning training engine for every refiner: manual optimisation, its own step counter,
step checkpoints (``last`` + every N), a stop on NaN/exploding losses, W&B losses and grids.

Lightning's ``global_step`` counts optimiser steps (two or more per refiner step), so the
refiner counts its own ``step``; ``trainer.max_steps`` in the config means refiner steps.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
import torch.distributed as dist
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import RichProgressBar

from refiner.models.base import Refiner
from sim2real.errors import Sim2RealError
from sim2real.instantiate import make_optimizer

log = logging.getLogger(__name__)


class RefinerDiverged(Sim2RealError):
    """A loss became NaN/inf or exploded; training stopped, the last good checkpoint is kept."""


class RefinerModule(pl.LightningModule):
    def __init__(self, model: Refiner, *, max_steps: int, channels_last: bool = False,
                 image_every: int = 100, samples_dir: Path | None = None) -> None:
        super().__init__()
        self.model = model
        self.automatic_optimization = False
        self.max_steps = max_steps
        self.step = 0  # refiner steps done (saved in checkpoints)
        self.channels_last = channels_last
        self.image_every = image_every
        self.samples_dir = samples_dir
        self.last_good: str | None = None

    # ---- optimisers --------------------------------------------------------------------------
    def configure_optimizers(self) -> list[Any]:
        o = self.model.cfg.optim
        opt_g = make_optimizer({"_target_": "torch.optim.Adam", "lr": o.lr_g, "betas": [o.beta1, o.beta2]},
                               self.model.generator_parameters())
        opt_d = make_optimizer({"_target_": "torch.optim.Adam", "lr": o.lr_d, "betas": [o.beta1, o.beta2]},
                               self.model.discriminator_parameters())
        return [opt_g, opt_d]

    def _lr_factor(self) -> float:
        """Linear decay to 0 after ``optim.decay_start`` of the run (CycleGAN's schedule)."""
        start = self.model.cfg.optim.decay_start * self.max_steps
        if self.step < start or start >= self.max_steps:
            return 1.0
        return max(0.0, 1.0 - (self.step - start) / max(1.0, self.max_steps - start))

    def _set_lr(self, opts: list[torch.optim.Optimizer]) -> None:
        o, f = self.model.cfg.optim, self._lr_factor()
        for opt, lr in zip(opts, (o.lr_g, o.lr_d)):
            for group in opt.param_groups:
                group["lr"] = lr * f

    # ---- distributed -------------------------------------------------------------------------
    def on_fit_start(self) -> None:
        """Start every process from rank 0's weights (GradSyncDDP does not wrap in DDP)."""
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            for t in list(self.parameters()) + list(self.buffers()):
                dist.broadcast(t.data, 0)

    def on_train_end(self) -> None:
        """Gradients were averaged by hand: prove the replicas ended identical."""
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            total = torch.stack([p.detach().double().sum() for p in self.model.generator.parameters()]).sum()
            spread = total.clone().reshape(1)
            gathered = [torch.zeros_like(spread) for _ in range(dist.get_world_size())]
            dist.all_gather(gathered, spread)
            if not all(torch.allclose(g, gathered[0], rtol=1e-6, atol=1e-6) for g in gathered):
                raise RuntimeError(f"refiner replicas diverged across processes: {[float(g) for g in gathered]}")

    # ---- the step ------------------------------------------------------------------------------
    def on_train_batch_start(self, batch: Any, batch_idx: int) -> int | None:
        if self.step >= self.max_steps:
            self.trainer.should_stop = True
            return -1
        return None

    def _prepare(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if self.channels_last:
            batch = {k: v.contiguous(memory_format=torch.channels_last) for k, v in batch.items()}
        return batch

    def _check(self, loss: torch.Tensor, what: str) -> None:
        value = float(loss.detach())
        limit = self.model.cfg.max_loss
        if not math.isfinite(value) or abs(value) > limit:
            kind = "not finite" if not math.isfinite(value) else f"exploded above refiner.max_loss={limit:g}"
            keep = self.last_good or "none saved yet"
            raise RefinerDiverged(f"refiner {what} loss is {value:g} ({kind}) at step {self.step}; "
                                  f"training stopped, last good checkpoint: {keep}")

    def _sync_grads(self, params: list[torch.nn.Parameter]) -> None:
        """Average gradients over processes (see GradSyncDDP: the module is not DDP-wrapped)."""
        if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
            return
        grads = [p.grad for p in params if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= dist.get_world_size()
        offset = 0
        for g in grads:
            g.copy_(flat[offset:offset + g.numel()].view_as(g))
            offset += g.numel()

    def _opt_step(self, opt: Any, loss: torch.Tensor, params: list[torch.nn.Parameter], what: str) -> None:
        self._check(loss, what)
        opt.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        self._sync_grads(params)
        opt.step()

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        m = self.model
        opt_g, opt_d = self.optimizers()
        self._set_lr([opt_g.optimizer, opt_d.optimizer])
        phase = m.schedule(self.step)
        m.set_input(self._prepare(batch))
        g_params = list(m.generator_parameters())
        d_params = list(m.discriminator_parameters())
        with torch.set_grad_enabled(True):
            m.forward()
            if phase.train_g:
                for p in d_params:
                    p.requires_grad_(False)
                self._opt_step(opt_g, m.loss_g(phase), g_params, "generator")
                for p in d_params:
                    p.requires_grad_(True)
            if phase.train_d:
                self._opt_step(opt_d, m.loss_d(), d_params, "discriminator")
        self.step += 1
        losses = {f"train/{k}": v for k, v in m.current_losses().items()}
        losses["train/refiner_step"] = float(self.step)
        if self.loggers:
            self.log_dict(losses, on_step=True, prog_bar=False, logger=True, sync_dist=False)
        if self.image_every and (self.step % self.image_every == 0 or self.step == 1):
            self._log_images()
        if self.step >= self.max_steps:
            self.trainer.should_stop = True

    # ---- visuals -------------------------------------------------------------------------------
    def _log_images(self) -> None:
        if not self.trainer.is_global_zero:
            return
        import torchvision

        vis = self.model.current_visuals()
        row = [vis[k][:1].float().cpu() for k in ("sim", "refined", "real") if k in vis]
        size = row[0].shape[-2:]
        row = [torch.nn.functional.interpolate(r, size=size, mode="bilinear", align_corners=False) for r in row]
        grid = torchvision.utils.make_grid(torch.cat(row), nrow=len(row), normalize=True, value_range=(-1, 1))
        if self.samples_dir is not None:
            self.samples_dir.mkdir(parents=True, exist_ok=True)
            torchvision.utils.save_image(grid, self.samples_dir / f"step_{self.step:06d}.png")
        from sim2real import tracking

        try:
            import wandb

            if wandb.run is not None:
                tracking.log_metrics({"train/sim_refined_real": wandb.Image(grid), "train/refiner_step": self.step})
        except ImportError:  # pragma: no cover
            pass

    # ---- checkpoint state ----------------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["refiner_step"] = self.step
        checkpoint["refiner_name"] = self.model.model_name
        checkpoint["refiner_config"] = OmegaConf.to_container(self.model.cfg, resolve=True, enum_to_str=True)
        checkpoint["num_classes"] = getattr(self.model.task_net, "num_classes", None)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.step = int(checkpoint.get("refiner_step", 0))


class StepsProgressBar(RichProgressBar):
    """Lightning's bar, titled by refiner steps: a refiner has no epoch count (it read "Epoch 1/-2")."""

    def _get_train_description(self, current_epoch: int) -> str:
        module = self.trainer.lightning_module
        return f"refiner, {module.max_steps} steps (pass {current_epoch + 1} over the crops)"


class StepCheckpoint(pl.Callback):
    """``last.ckpt`` every ``every`` refiner steps and at the end, plus ``step_XXXXXX.ckpt``."""

    def __init__(self, dirpath: Path, every: int) -> None:
        self.dirpath = Path(dirpath)
        self.every = every

    @property
    def last(self) -> Path:
        return self.dirpath / "last.ckpt"

    def _save(self, trainer: pl.Trainer, module: RefinerModule, keep_step: bool) -> None:
        self.dirpath.mkdir(parents=True, exist_ok=True)
        tmp = self.dirpath / ".last.ckpt.tmp"
        trainer.save_checkpoint(tmp)
        if trainer.is_global_zero:
            if keep_step:
                import shutil

                shutil.copyfile(tmp, self.dirpath / f"step_{module.step:06d}.ckpt")
            tmp.replace(self.last)
        trainer.strategy.barrier("refiner-checkpoint")
        module.last_good = str(self.last)

    def on_train_batch_end(self, trainer: pl.Trainer, module: RefinerModule, *args: Any) -> None:
        if self.every and module.step % self.every == 0 and module.step > 0:
            self._save(trainer, module, keep_step=True)

    def on_train_end(self, trainer: pl.Trainer, module: RefinerModule) -> None:
        self._save(trainer, module, keep_step=False)


def make_strategy(trainer_cfg: DictConfig) -> Any:
    """``ddp`` becomes GradSyncDDP (gloo on CPU); anything else goes to Lightning as is."""
    strategy = str(trainer_cfg.get("strategy", "auto"))
    if strategy not in ("ddp", "ddp_spawn"):
        return strategy
    from pytorch_lightning.strategies import DDPStrategy

    class GradSyncDDP(DDPStrategy):
        """DDP without the DistributedDataParallel wrapper.

        A GAN step runs two backward passes over different parameter sets inside one
        ``training_step``; DDP's reducer expects one backward per forward. The refiner averages
        gradients itself (``RefinerModule._sync_grads``) right before each optimiser step.
        """

        def configure_ddp(self) -> None:
            pass

    backend = "gloo" if str(trainer_cfg.get("accelerator", "cpu")) == "cpu" else None
    start = "spawn" if strategy == "ddp_spawn" else "popen"
    return GradSyncDDP(process_group_backend=backend, start_method=start)
