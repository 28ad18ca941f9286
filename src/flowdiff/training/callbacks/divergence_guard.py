"""Stop when the validation loss keeps running away from the training loss (overfitting)."""

from __future__ import annotations

from typing import Any

from lightning import Callback, LightningModule, Trainer
from lightning.pytorch.utilities import rank_zero_info

from flowdiff.training.callbacks.best_weights import restore_best_weights


class DivergenceGuard(Callback):
    """Stop training when ``val_metric / train_metric`` stays above ``max_ratio`` for more than
    ``patience`` consecutive epochs.

    A ratio that climbs and stays up means the network fits the training data better and better
    while doing no better on held-out data. Note that with EMA, ``val/loss`` is measured with the
    EMA weights and ``train/loss`` with the raw ones: the EMA lags early in training, so the
    guard ignores the first ``start_epoch`` epochs.

    Args:
        max_ratio: the ratio of validation to training loss that counts as diverging.
        patience: consecutive diverging epochs tolerated; one more stops training.
        start_epoch: first epoch (0-based) that counts.
        val_metric: the validation metric (logged per epoch).
        train_metric: the training metric (its per-epoch mean).
        restore_best: on stopping, load the best checkpoint's weights (by ``val_metric``).
    """

    def __init__(
        self,
        max_ratio: float = 1.1,
        patience: int = 10,
        start_epoch: int = 10,
        val_metric: str = "val/loss",
        train_metric: str = "train/loss_epoch",
        restore_best: bool = True,
    ):
        super().__init__()
        if max_ratio <= 0:
            raise ValueError(f"max_ratio={max_ratio} must be > 0.")
        self.max_ratio = max_ratio
        self.patience = patience
        self.start_epoch = start_epoch
        self.val_metric = val_metric
        self.train_metric = train_metric
        self.restore_best = restore_best
        self.count = 0
        self.stopped_epoch = 0
        self.stopping_reason_message: str | None = None

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        metrics = trainer.callback_metrics
        if trainer.current_epoch < self.start_epoch or self.val_metric not in metrics:
            return
        if self.train_metric not in metrics:
            return
        ratio = float(metrics[self.val_metric]) / max(float(metrics[self.train_metric]), 1e-12)
        # Every rank must take the same decision, or DDP would hang on the stopping ranks.
        diverging = trainer.strategy.reduce_boolean_decision(ratio > self.max_ratio, all=False)
        self.count = self.count + 1 if diverging else 0
        if self.count > self.patience:
            self.stopped_epoch = trainer.current_epoch
            self.stopping_reason_message = (
                f"{self.val_metric} / {self.train_metric} = {ratio:.3f} stayed above "
                f"max_ratio={self.max_ratio} for {self.count} epochs (patience={self.patience}): "
                "the model is overfitting. Signaling Trainer to stop."
            )
            rank_zero_info(self.stopping_reason_message)
            trainer.should_stop = True

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.stopping_reason_message is None:
            return
        rank_zero_info(
            f"Divergence guard ended training at epoch {self.stopped_epoch} (step "
            f"{trainer.global_step}): {self.stopping_reason_message}"
        )
        if self.restore_best:
            restore_best_weights(trainer, pl_module, self.val_metric)

    def state_dict(self) -> dict[str, Any]:
        return {"count": self.count}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.count = state_dict["count"]
