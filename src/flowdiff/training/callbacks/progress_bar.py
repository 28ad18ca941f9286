"""Lightning's rich progress bar, redrawn on a clock instead of after every batch."""

from __future__ import annotations

import math
import time
from typing import Any

from lightning import LightningModule, Trainer
from lightning.pytorch.callbacks import RichProgressBar


class TimedProgressBar(RichProgressBar):
    """:class:`~lightning.pytorch.callbacks.RichProgressBar` that redraws the training bar at
    most every ``refresh_interval_s`` seconds (and always on an epoch's last batch).

    The stock bar redraws and reads every progress-bar metric with ``.item()`` after each
    batch: a host-device sync per step on a GPU, and on CPU a few percent of a small model's
    step spent in Python. Twice a second is as often as anyone reads it. For the same reason
    ``train/loss`` is not a Lightning progress-bar metric (Lightning itself would read it after
    every batch); this bar shows its latest value when it redraws.

    Args:
        refresh_interval_s: least time between two redraws of the training bar; 0 redraws
            after every batch, like the stock bar.
        **kwargs: passed to ``RichProgressBar`` (``leave``, ``theme``, ``console_kwargs``).
    """

    def __init__(self, refresh_interval_s: float = 0.5, **kwargs: Any):
        super().__init__(**kwargs)
        if refresh_interval_s < 0:
            raise ValueError(f"refresh_interval_s={refresh_interval_s} must be >= 0.")
        self.refresh_interval_s = refresh_interval_s
        self._last_redraw = -math.inf

    def on_train_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        now = time.monotonic()
        if now - self._last_redraw < self.refresh_interval_s and not trainer.is_last_batch:
            return
        self._last_redraw = now
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)

    def get_metrics(self, trainer: Trainer, pl_module: LightningModule) -> dict[str, Any]:
        """Lightning's progress-bar metrics and the latest ``train/loss`` (the mean over the
        last logging window), read here rather than after every batch."""
        items = super().get_metrics(trainer, pl_module)
        loss = trainer.callback_metrics.get("train/loss_step")
        if loss is not None:
            items["train/loss"] = float(loss)
        return items
