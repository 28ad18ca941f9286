"""Skip or stop on a NaN/inf loss or gradient, and never checkpoint diverged weights."""

from __future__ import annotations

import logging
from typing import Any

import torch
from lightning import Callback, LightningModule, Trainer
from lightning.pytorch.utilities import rank_zero_warn
from torch import Tensor

from flowdiff.errors import ConfigError, NonFiniteError

log = logging.getLogger(__name__)

ACTIONS = ("skip", "stop")


def parameters_finite(module: torch.nn.Module) -> bool:
    """Whether every parameter of ``module`` is free of NaN and inf (one host sync)."""
    flags = [torch.isfinite(p).all() for p in module.parameters()]
    return bool(torch.stack(flags).all()) if flags else True


class NonFiniteGuard(Callback):
    """Checks the loss and the gradients before every optimizer step.

    A step whose loss or gradients hold NaN/inf either is skipped (its gradients dropped, so the
    weights and the optimizer's moments stay as they were; counted and reported) or stops the
    run with :class:`~flowdiff.errors.NonFiniteError`, before the weights change. Under a
    ``GradScaler`` (16-mixed precision) gradient overflow is the scaler's business, so only the
    loss is checked. The check costs one host sync per optimizer step.

    Any checkpoint save is refused while the weights themselves are non-finite, so a diverged
    state never replaces the last good ``last.ckpt``.

    Args:
        action: ``skip`` or ``stop``.
        max_consecutive: with ``skip``, stop after this many non-finite steps in a row (the run
            has diverged for good); ``null`` never stops.
    """

    def __init__(self, action: str = "skip", max_consecutive: int | None = 20):
        if action not in ACTIONS:
            raise ConfigError(f"action={action!r}; choose one of {list(ACTIONS)}.")
        if max_consecutive is not None and max_consecutive < 1:
            raise ConfigError(f"max_consecutive={max_consecutive} must be >= 1 or None.")
        self.action = action
        self.max_consecutive = max_consecutive
        self.skipped = 0
        self.consecutive = 0
        self._loss: Tensor | None = None

    def on_before_backward(self, trainer: Trainer, pl_module: LightningModule, loss: Tensor):
        self._loss = loss.detach()

    def _finite(self, trainer: Trainer, grads: list[Tensor]) -> bool:
        """Whether the loss and every gradient are finite: one host sync, no per-tensor loop."""
        values = [self._loss.float().reshape(-1)] if self._loss is not None else []
        if grads and getattr(trainer.precision_plugin, "scaler", None) is None:
            # a norm is finite iff all the entries are (or it overflows: also a stop); one
            # foreach kernel per device and dtype
            values.append(torch.nn.utils.get_total_norm(grads).float().reshape(-1))
        return bool(torch.isfinite(torch.cat(values)).all()) if values else True

    def on_before_optimizer_step(self, trainer: Trainer, pl_module: LightningModule, optimizer):
        params = [p for group in optimizer.param_groups for p in group["params"]]
        grads = [p.grad for p in params if p.grad is not None]
        if self._finite(trainer, grads):
            self.consecutive = 0
            return
        self.skipped += 1
        self.consecutive += 1
        loss = float(self._loss) if self._loss is not None else float("nan")
        where = f"step {trainer.global_step} (epoch {trainer.current_epoch}, loss={loss})"
        if self.action == "stop" or (
            self.max_consecutive is not None and self.consecutive >= self.max_consecutive
        ):
            raise NonFiniteError(self._stop_message(where))
        for p in params:
            p.grad = None
        pl_module.log("train/nonfinite_steps", float(self.skipped), on_step=True, on_epoch=False)
        rank_zero_warn(
            f"Non-finite loss or gradient at {where}; the optimizer step was skipped "
            f"({self.skipped} skipped so far). callbacks.nan_guard.action=stop stops instead."
        )

    def _stop_message(self, where: str) -> str:
        repeated = f" for {self.consecutive} steps in a row" if self.consecutive > 1 else ""
        return (
            f"training stopped: the loss or gradients became NaN/inf{repeated} at {where}. This "
            "step did not update the weights and no checkpoint was written from it, so "
            "checkpoints/last.ckpt holds the last good state. Lower base_lr, clip gradients "
            "(trainer.gradient_clip_val=1.0), check the data for NaN/inf, or set "
            "action=skip to skip such steps."
        )

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.skipped:
            rank_zero_warn(
                f"NonFiniteGuard skipped {self.skipped} of {trainer.global_step} optimizer steps "
                "with a non-finite loss or gradient."
            )

    def on_save_checkpoint(
        self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        if not parameters_finite(pl_module):
            raise NonFiniteError(
                f"the weights hold NaN/inf at step {trainer.global_step}; refusing to save a "
                "diverged checkpoint over the last good one. Lower base_lr or clip gradients "
                "(trainer.gradient_clip_val=1.0) and resume from checkpoints/last.ckpt."
            )

    def state_dict(self) -> dict[str, Any]:
        return {"skipped": self.skipped}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.skipped = int(state_dict.get("skipped", 0))
