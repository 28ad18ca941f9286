"""The training loss averaged over the steps between two logger writes."""

from __future__ import annotations

from lightning import Trainer
from torch import Tensor


def logger_writes_this_step(trainer: Trainer) -> bool:
    """Whether Lightning's logger (and ``LearningRateMonitor``) writes after the current training
    batch: every ``log_every_n_steps`` optimizer steps, counted from 1, and when stopping."""
    every = trainer.log_every_n_steps
    return every > 0 and ((trainer.global_step + 1) % every == 0 or trainer.should_stop)


class LossWindow:
    """Sums the training loss on the device (no host sync) until the logger next writes.

    Lightning's ``self.log`` costs about half a millisecond of Python per call, a few percent of
    a small model's step, so ``train/loss`` is logged once per ``trainer.log_every_n_steps``
    steps, on the steps the logger writes, and on the epoch's last batch. Every sample is
    counted once with its weight, so ``train/loss_epoch`` is the exact epoch mean and
    ``train/loss_step`` is the mean of the window rather than of one noisy batch.
    """

    def __init__(self) -> None:
        self.total: Tensor | None = None  # batch-size-weighted loss summed since the last write
        self.count = 0

    def add(self, loss: Tensor, batch_size: int) -> None:
        weighted = loss.detach() * batch_size
        self.total = weighted if self.total is None else self.total + weighted
        self.count += batch_size

    def due(self, trainer: Trainer) -> bool:
        """Whether to log now: the logger writes after this batch, or the epoch ends with it."""
        return self.count > 0 and (logger_writes_this_step(trainer) or trainer.is_last_batch)

    def pop(self) -> tuple[Tensor, int]:
        """The window's mean loss and sample count; the window starts afresh."""
        mean, count = self.total / self.count, self.count
        self.reset()
        return mean, count

    def reset(self) -> None:
        self.total, self.count = None, 0
