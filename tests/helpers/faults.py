"""Faults injected into real training runs: NaN batches, SIGTERM, slow steps and stops.

Used by the tests and by ``tests.helpers.kill_test``; from the command line, e.g.
``+callbacks.poison._target_=tests.helpers.faults.PoisonBatch +callbacks.poison.at_steps=[6]``
with the repository root on ``PYTHONPATH``.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Sequence

from lightning import Callback


class PoisonBatch(Callback):
    """Writes NaN into the batch of the given optimizer steps, so that step's loss and
    gradients are NaN (the dataset itself is untouched: batches are gathered copies)."""

    def __init__(self, at_steps: Sequence[int] = (3,)):
        self.at_steps = set(at_steps)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step in self.at_steps:
            batch["x"][0] = float("nan")


class SendSignal(Callback):
    """Sends this process ``signum`` after the optimizer step ``at_step``, as a cluster does
    before preemption."""

    def __init__(self, at_step: int = 3, signum: int = signal.SIGTERM):
        self.at_step = at_step
        self.signum = signum

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step == self.at_step:
            os.kill(os.getpid(), self.signum)


class SlowSteps(Callback):
    """Sleeps after each batch, so an outside process can interrupt the run at random steps."""

    def __init__(self, seconds: float = 0.05):
        self.seconds = seconds

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        time.sleep(self.seconds)


class StopAfterEpoch(Callback):
    """Stops the run once epoch ``epoch`` (0-based) is done and checkpointed (an interruption
    that a resume must undo exactly)."""

    def __init__(self, epoch: int):
        self.epoch = epoch

    def on_train_epoch_end(self, trainer, pl_module):
        if trainer.current_epoch == self.epoch:
            trainer.should_stop = True
