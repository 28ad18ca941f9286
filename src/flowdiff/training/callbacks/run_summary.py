"""At the end of fitting: the resolved config and the final metrics to every logger."""

from __future__ import annotations

from lightning import Callback, LightningModule, Trainer
from omegaconf import DictConfig

from flowdiff.training.loggers import log_run_summary


class RunSummary(Callback):
    """Sends the run's resolved config and final metrics (``trainer.callback_metrics``) to each
    logger's hyperparameter view when fitting ends, before Lightning finalizes the loggers.

    :func:`flowdiff.training.build` adds it whenever the run has loggers.

    Args:
        cfg: the run's composed config.
    """

    def __init__(self, cfg: DictConfig):
        super().__init__()
        self.cfg = cfg

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if not trainer.loggers or not trainer.is_global_zero:
            return
        metrics = {key: float(value) for key, value in trainer.callback_metrics.items()}
        log_run_summary(trainer.loggers, self.cfg, metrics, trainer.global_step)
