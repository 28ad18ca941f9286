"""The run's journal (``events.jsonl``), per-epoch metrics table (``metrics.csv``) and loss curve
(``loss_curve.png``), written into the run folder and appended to when the run is resumed."""

from __future__ import annotations

import csv
import json
import resource
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from lightning import Callback, LightningModule, Trainer
from lightning.pytorch.callbacks import Timer

from flowdiff.plotting import save_figure
from flowdiff.plotting.curves import curves_figure, metrics_series, read_metrics

COLUMNS = [
    "epoch",
    "step",
    "train_loss",
    "val_loss",
    "lr",
    "epoch_s",
    "samples_per_s",
    "peak_memory_mb",
]


class RunRecords(Callback):
    """Writes the run's records (rank 0 only).

    * ``events.jsonl``: one JSON object per line for ``start``, each ``validation``, ``end`` (with
      why training stopped) and ``exception``; each carries the time, epoch, step and the run's
      context (config hash, git commit, seed, host; see
      :func:`flowdiff.training.callbacks.run_identity.run_context`).
    * ``metrics.csv``: one row per epoch: mean train loss, val loss, learning rate, epoch wall
      time, training samples per second (all devices) and peak memory (CUDA memory allocated on
      a GPU, the process's peak resident memory on a CPU), in MB.
    * ``loss_curve.png``: train and val loss (and the learning rate) against epoch, drawn by
      :func:`~flowdiff.plotting.curves_figure` and redrawn at the end of the run.

    Args:
        dirname: subfolder of the run folder for the records ("" for the run folder itself).
    """

    def __init__(self, dirname: str = ""):
        super().__init__()
        self.dirname = dirname
        self.context: dict[str, Any] = {}
        self._epoch_start = 0.0
        self._train_seconds: float | None = None
        self._samples = 0

    def folder(self, trainer: Trainer) -> Path:
        return Path(trainer.default_root_dir) / self.dirname

    def event(self, trainer: Trainer, name: str, **fields: Any) -> None:
        """Append one event to ``events.jsonl``."""
        if not trainer.is_global_zero:
            return
        record = {
            "event": name,
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "epoch": trainer.current_epoch,
            "step": trainer.global_step,
            **fields,
            **self.context,
        }
        folder = self.folder(trainer)
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "events.jsonl", "a") as file:
            file.write(json.dumps(record, default=str) + "\n")

    # ------------------------------------------------------------------ events
    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        # Here rather than at fit start: a resumed run's step and epoch are restored by now.
        self.event(
            trainer,
            "start",
            resumed_from=trainer.ckpt_path,
            max_epochs=trainer.max_epochs,
            world_size=trainer.world_size,
            precision=trainer.precision,
        )

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.sanity_checking:
            return
        self.event(trainer, "validation", **_metrics(trainer, "val/"))

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.event(trainer, "end", reason=stop_reason(trainer), **_metrics(trainer, ""))
        self._plot(trainer)

    def on_exception(
        self, trainer: Trainer, pl_module: LightningModule, exception: BaseException
    ) -> None:
        self.event(trainer, "exception", type=type(exception).__name__, message=str(exception))
        self._plot(trainer)

    # ------------------------------------------------------------------ metrics table
    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._epoch_start, self._train_seconds, self._samples = time.perf_counter(), None, 0
        if torch.cuda.is_available() and pl_module.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(pl_module.device)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self._samples += len(batch["x"]) if isinstance(batch, dict) else len(batch[0])

    def on_validation_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if not trainer.sanity_checking and self._train_seconds is None:
            self._train_seconds = time.perf_counter() - self._epoch_start

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        now = time.perf_counter()
        train_seconds = self._train_seconds or (now - self._epoch_start)
        metrics = trainer.callback_metrics
        row = {
            "epoch": trainer.current_epoch,
            "step": trainer.global_step,
            "train_loss": _float(metrics.get("train/loss_epoch", metrics.get("train/loss"))),
            "val_loss": _float(metrics.get("val/loss")),
            "lr": trainer.optimizers[0].param_groups[0]["lr"] if trainer.optimizers else None,
            "epoch_s": round(now - self._epoch_start, 4),
            "samples_per_s": round(self._samples * trainer.world_size / train_seconds, 1),
            "peak_memory_mb": round(_peak_memory_mb(pl_module.device), 1),
        }
        path = self.folder(trainer) / "metrics.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        new = not path.is_file()
        with open(path, "a", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=COLUMNS)
            if new:
                writer.writeheader()
            writer.writerow(row)

    def _plot(self, trainer: Trainer) -> None:
        table = self.folder(trainer) / "metrics.csv"
        if trainer.is_global_zero and table.is_file():
            figure = curves_figure(metrics_series(read_metrics(table)), x_label="epoch")
            if figure is not None:
                save_figure(figure, table.with_name("loss_curve.png"))


def stop_reason(trainer: Trainer) -> str:
    """Why training ended: a stopping callback's message, an interruption, or the limits."""
    for callback in trainer.callbacks:
        message = getattr(callback, "stopping_reason_message", None)
        if message:
            return f"{type(callback).__name__}: {message}"
    if trainer.interrupted:
        return "interrupted"
    if trainer.max_steps != -1 and trainer.global_step >= trainer.max_steps:
        return f"max_steps={trainer.max_steps} reached"
    for callback in trainer.callbacks:
        # Lightning adds a Timer for trainer.max_time (max_time=DD:HH:MM:SS)
        if isinstance(callback, Timer) and (callback.time_remaining() or 1.0) <= 0:
            return f"max_time reached after {callback.time_elapsed():.0f} s of training"
    if trainer.should_stop:
        return "stopped by a callback or the module (trainer.should_stop)"
    return f"max_epochs={trainer.max_epochs} reached"


def _metrics(trainer: Trainer, prefix: str) -> dict[str, float]:
    return {
        key: _float(value)
        for key, value in trainer.callback_metrics.items()
        if key.startswith(prefix) and not key.endswith("_step")
    }


def _float(value: Any) -> float | None:
    return None if value is None else round(float(value), 6)


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
