"""Save ``last.ckpt`` when a run is interrupted: SIGTERM (preemption), Ctrl+C or a crash."""

from __future__ import annotations

import logging
import os
from typing import Any

from lightning import Callback, LightningModule, Trainer
from lightning.pytorch.utilities import rank_zero_warn

from flowdiff.errors import DiskFullError, NonFiniteError
from flowdiff.training.callbacks.nan_guard import parameters_finite

log = logging.getLogger(__name__)


class ExceptionCheckpoint(Callback):
    """Lightning's ``OnExceptionCheckpoint``, made safe to point at ``last.ckpt``.

    Lightning turns SIGTERM into a ``SIGTERMException`` at the next batch boundary; this callback
    then writes the interrupted state, so ``ckpt_path=<run>/checkpoints/last.ckpt`` continues
    from the last finished step. It saves nothing when that would lose or poison work: before
    training has taken a step beyond the checkpoint it started from (e.g. a bad config found
    during setup), after a :class:`~flowdiff.errors.NonFiniteError`, or while the weights hold
    NaN/inf. Unlike Lightning's, it keeps its file when the run finishes, and it does not
    subclass ``OnExceptionCheckpoint``: the presence of one makes ``trainer.fit(ckpt_path=None)``
    silently resume from any ``last.ckpt`` it finds, and resuming must stay explicit. Nor is it a
    Lightning ``Checkpoint`` callback, which ``trainer.enable_checkpointing=false`` would refuse.

    Args:
        dirpath: the run's ``checkpoints/`` folder.
        filename: file name without ``.ckpt``; ``last`` is what a resume reads.
    """

    def __init__(self, dirpath: str, filename: str = "last"):
        if not filename:
            raise ValueError("filename='' cannot be empty; give a name such as filename='last'.")
        self.dirpath = dirpath
        self.filename = filename
        self._start_step: int | None = None

    @property
    def ckpt_path(self) -> str:
        return os.path.join(self.dirpath, self.filename + ".ckpt")

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._start_step = trainer.global_step

    def _worth_saving(self, trainer: Trainer, pl_module: LightningModule, error: Any) -> bool:
        if isinstance(error, (NonFiniteError, DiskFullError)) or self._start_step is None:
            return False
        if trainer.global_step <= self._start_step:
            return False
        if not parameters_finite(pl_module):
            rank_zero_warn("Not saving on exception: the weights hold NaN/inf.")
            return False
        return True

    def on_exception(
        self, trainer: Trainer, pl_module: LightningModule, exception: BaseException
    ) -> None:
        if not self._worth_saving(trainer, pl_module, exception):
            return
        try:
            trainer.save_checkpoint(self.ckpt_path)
        except Exception as error:  # never hide the original exception behind this one
            rank_zero_warn(f"Could not save {self.ckpt_path} after {exception!r}: {error}")
            return
        # The CLI reads this to tell the user how to resume.
        exception.flowdiff_checkpoint = self.ckpt_path
        exception.flowdiff_step = trainer.global_step
        log.info("Saved %s at step %d after %r", self.ckpt_path, trainer.global_step, exception)
