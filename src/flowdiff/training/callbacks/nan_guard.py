"""Skip or stop on a NaN/inf loss or gradient, and never checkpoint diverged weights."""

from __future__ import annotations

import logging
from typing import Any

import torch
from lightning import Callback, LightningModule, Trainer
from lightning.pytorch.utilities import rank_zero_warn
from torch import Tensor

from flowdiff.compat import flag_nonfinite, skip_step_where
from flowdiff.errors import ConfigError, NonFiniteError

log = logging.getLogger(__name__)

ACTIONS = ("skip", "stop")


def parameters_finite(module: torch.nn.Module) -> bool:
    """Whether every parameter of ``module`` is free of NaN and inf (one host sync)."""
    flags = [torch.isfinite(p).all() for p in module.parameters()]
    return bool(torch.stack(flags).all()) if flags else True


class NonFiniteGuard(Callback):
    """Checks the loss and the gradients before every optimizer step.

    A step whose loss or gradients hold NaN/inf either is skipped (the weights and the
    optimizer's moments stay as they were; counted and reported) or stops the run with
    :class:`~flowdiff.errors.NonFiniteError`. Under a ``GradScaler`` (16-mixed precision)
    gradient overflow is the scaler's business, so only the loss is checked.

    Two ways to skip, chosen by ``on_device``:

    - on the host (the CPU default): one host sync per step reads the check; a bad step's
      gradients are dropped before the step, and ``stop`` raises before the weights change.
    - on the device (the default on a GPU with a fused optimizer, torch's default for
      Adam/AdamW here): the check becomes the fused kernel's ``found_inf`` flag
      (:func:`flowdiff.compat.skip_step_where`), so a bad step changes nothing and the host
      never waits for it. The counts are read every ``check_every`` steps, at the end of each
      epoch and before any checkpoint is written; ``stop`` and ``max_consecutive`` act then,
      naming the first bad step. Without a fused optimizer it falls back to the host check.

    Any checkpoint save is refused while the weights themselves are non-finite, so a diverged
    state never replaces the last good ``last.ckpt``.

    Args:
        action: ``skip`` or ``stop``.
        max_consecutive: with ``skip``, stop after this many non-finite steps in a row (the run
            has diverged for good); ``null`` never stops.
        on_device: skip on the device (``True``), on the host (``False``), or ``None``: on the
            device when training on a GPU.
        check_every: on the device, optimizer steps between reads of the counts.
    """

    def __init__(
        self,
        action: str = "skip",
        max_consecutive: int | None = 20,
        on_device: bool | None = None,
        check_every: int = 50,
    ):
        if action not in ACTIONS:
            raise ConfigError(f"action={action!r}; choose one of {list(ACTIONS)}.")
        if max_consecutive is not None and max_consecutive < 1:
            raise ConfigError(f"max_consecutive={max_consecutive} must be >= 1 or None.")
        if check_every < 1:
            raise ConfigError(f"check_every={check_every} must be >= 1.")
        if on_device not in (None, True, False):
            raise ConfigError(f"on_device={on_device!r}; choose true, false or null (on a GPU).")
        self.action = action
        self.max_consecutive = max_consecutive
        self.on_device = on_device
        self.check_every = check_every
        self.skipped = 0
        self.consecutive = 0
        self._loss: Tensor | None = None
        # on the device: bad steps since the last read, the current run of bad steps, the
        # most consecutive ones, and the first bad step's number (-1: none)
        self._pending: dict[str, Tensor] | None = None

    def on_before_backward(self, trainer: Trainer, pl_module: LightningModule, loss: Tensor):
        self._loss = loss.detach()

    def _found_nonfinite(
        self, trainer: Trainer, grads: list[Tensor], device: torch.device
    ) -> Tensor:
        """1.0 if the loss or a gradient holds NaN/inf, else 0.0: a 0-d float32 tensor on
        ``device``, from one kernel per device and dtype (the check ``GradScaler`` runs,
        :func:`flowdiff.compat.flag_nonfinite`; the loss rides along as a one-element copy),
        with no host sync. Under a ``GradScaler`` only the loss is checked."""
        groups: dict[tuple[torch.device, torch.dtype], list[Tensor]] = {}
        if self._loss is not None:
            loss = self._loss.float().reshape(1).clone()  # the kernel rescales in place
            groups[(loss.device, loss.dtype)] = [loss]
        if getattr(trainer.precision_plugin, "scaler", None) is None:
            for grad in grads:
                groups.setdefault((grad.device, grad.dtype), []).append(grad)
        found = torch.zeros((), dtype=torch.float32, device=device)
        flags = {found.device: found}  # one flag per device (model parallel: several)
        for (where, _), group in groups.items():
            if where not in flags:
                flags[where] = torch.zeros_like(found, device=where)
            flag_nonfinite(group, flags[where])
        for flag in flags.values():
            if flag is not found:
                found = torch.maximum(found, flag.to(found.device))
        return found

    def _skips_on_device(self, trainer: Trainer) -> bool:
        if getattr(trainer.precision_plugin, "scaler", None) is not None:
            return False  # the scaler sets the optimizer's found_inf itself
        if self.on_device is None:
            return trainer.strategy.root_device.type == "cuda"
        return self.on_device

    def on_before_optimizer_step(self, trainer: Trainer, pl_module: LightningModule, optimizer):
        params = [p for group in optimizer.param_groups for p in group["params"]]
        grads = [p.grad for p in params if p.grad is not None]
        device = params[0].device if params else pl_module.device
        found_inf = self._found_nonfinite(trainer, grads, device)
        if self._skips_on_device(trainer) and skip_step_where(optimizer, found_inf):
            self._count_on_device(found_inf, trainer.global_step)
            if (trainer.global_step + 1) % self.check_every == 0:
                self._read_counts(trainer, pl_module)
            return
        if not bool(found_inf):
            self.consecutive = 0
            return
        for p in params:
            p.grad = None
        self.consecutive += 1
        loss = float(self._loss) if self._loss is not None else float("nan")
        where = f"step {trainer.global_step} (epoch {trainer.current_epoch}, loss={loss})"
        self._skipped(trainer, pl_module, 1, self.consecutive, where)

    def _count_on_device(self, found_inf: Tensor, step: int) -> None:
        """Add this step's flag (1.0: skipped) to the counts, on the device."""
        if self._pending is None:
            run = torch.tensor(float(self.consecutive), device=found_inf.device)
            self._pending = {"bad": run * 0, "run": run, "longest": run, "first": run * 0 - 1}
        p = self._pending
        p["bad"] = p["bad"] + found_inf
        p["run"] = (p["run"] + 1) * found_inf
        p["longest"] = torch.maximum(p["longest"], p["run"])
        p["first"] = torch.where((p["first"] < 0) & (found_inf > 0), step, p["first"])

    def _read_counts(self, trainer: Trainer, pl_module: LightningModule | None) -> None:
        """On the device: one sync reads the counts since the last read, then acts on them."""
        if self._pending is None:
            return
        bad, run, longest, first = (int(v) for v in torch.stack(list(self._pending.values())))
        self._pending = None
        self.consecutive = run
        if bad:
            where = f"step {first} (epoch {trainer.current_epoch}; {bad} such step(s) since)"
            self._skipped(trainer, pl_module, bad, longest, where)

    def _skipped(
        self, trainer: Trainer, pl_module: LightningModule | None, count: int, run: int, where: str
    ) -> None:
        """``count`` more steps were skipped, the longest run of them ``run`` steps, the first
        ``where``. Stops, or logs and warns."""
        self.skipped += count
        if self.action == "stop" or (
            self.max_consecutive is not None and run >= self.max_consecutive
        ):
            raise NonFiniteError(self._stop_message(where, run))
        if pl_module is not None:
            pl_module.log(
                "train/nonfinite_steps", float(self.skipped), on_step=True, on_epoch=False
            )
        rank_zero_warn(
            f"Non-finite loss or gradient at {where}; the optimizer step was skipped "
            f"({self.skipped} skipped so far). callbacks.nan_guard.action=stop stops instead."
        )

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._read_counts(trainer, None)

    def _stop_message(self, where: str, run: int) -> str:
        repeated = f" for {run} steps in a row" if run > 1 else ""
        return (
            f"training stopped: the loss or gradients became NaN/inf{repeated} at {where}. This "
            "step did not update the weights and no checkpoint was written from it, so "
            "checkpoints/last.ckpt holds the last good state. Lower base_lr, clip gradients "
            "(trainer.gradient_clip_val=1.0), check the data for NaN/inf, or set "
            "action=skip to skip such steps."
        )

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._read_counts(trainer, None)
        if self.skipped:
            rank_zero_warn(
                f"NonFiniteGuard skipped {self.skipped} of {trainer.global_step} optimizer steps "
                "with a non-finite loss or gradient."
            )

    def on_save_checkpoint(
        self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        self._read_counts(trainer, None)
        if not parameters_finite(pl_module):
            raise NonFiniteError(
                f"the weights hold NaN/inf at step {trainer.global_step}; refusing to save a "
                "diverged checkpoint over the last good one. Lower base_lr or clip gradients "
                "(trainer.gradient_clip_val=1.0) and resume from checkpoints/last.ckpt."
            )

    def state_dict(self) -> dict[str, Any]:
        # Lightning collects this before on_save_checkpoint reads the device counts
        pending = int(self._pending["bad"]) if self._pending is not None else 0
        return {"skipped": self.skipped + pending}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.skipped = int(state_dict.get("skipped", 0))
