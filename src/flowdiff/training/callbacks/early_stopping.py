"""Lightning's early stopping, plus putting the best weights back when it fires."""

from __future__ import annotations

import torch
from lightning import LightningModule, Trainer
from lightning.pytorch.callbacks import EarlyStopping as LightningEarlyStopping
from lightning.pytorch.utilities import rank_zero_info

from flowdiff.training.callbacks.best_weights import restore_best_weights


class EarlyStopping(LightningEarlyStopping):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` validations.

    Lightning's ``EarlyStopping`` (``monitor``, ``patience``, ``min_delta``, ``mode``,
    ``baseline``, ``verbose``, ``check_finite``, ``stopping_threshold``,
    ``divergence_threshold`` ...), plus:

    Args:
        restore_best: when it stops training, load the best checkpoint's weights (the one the
            ``ModelCheckpoint`` watching the same metric kept) into the model, so the model left
            after ``fit`` (and the final sample figure) is the best one, not the last.
        baseline: a value the metric must beat (by ``min_delta``) to count as improving: training
            stops after ``patience`` validations that do not beat it (as in Keras).
        **kwargs: Lightning's ``EarlyStopping`` arguments.
    """

    def __init__(self, restore_best: bool = True, baseline: float | None = None, **kwargs):
        kwargs.setdefault("monitor", "val/loss")
        super().__init__(**kwargs)
        self.restore_best = restore_best
        self.baseline = baseline
        if baseline is not None:
            self.best_score = torch.tensor(float(baseline))

    @property
    def stopped(self) -> bool:
        """Whether this callback stopped the run (on any rank)."""
        return self.stopping_reason_message is not None or self.stopped_epoch > 0

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if not self.stopped:
            return
        rank_zero_info(
            f"Early stopping ended training at epoch {self.stopped_epoch} (step "
            f"{trainer.global_step}): {self.stopping_reason_message}"
        )
        if self.restore_best:
            restore_best_weights(trainer, pl_module, self.monitor)
