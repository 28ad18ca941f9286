"""What the training step does less of, per step, without losing anything users read: the
windowed ``train/loss`` logging, the clocked progress bar, and no stray default bar."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import Callback, RichProgressBar
from lightning.pytorch.loggers import Logger

from flowdiff.config import compose_config
from flowdiff.data import Toy2DDataModule
from flowdiff.errors import ConfigError
from flowdiff.training import build
from flowdiff.training.callbacks import TimedProgressBar
from tests.helpers.models import small_flow


class StepLosses(Callback):
    """Each training batch's loss and size, as the step returned them."""

    def __init__(self):
        self.losses: list[tuple[float, int]] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.losses.append((float(outputs["loss"]), batch["x"].shape[0]))


class Written(Logger):
    """Metrics as the logger receives them, with their steps."""

    def __init__(self):
        super().__init__()
        self.rows: list[tuple[int, dict]] = []

    name, version = "written", 0

    def log_metrics(self, metrics, step=None):
        self.rows.append((step, dict(metrics)))

    def log_hyperparams(self, *args, **kwargs):
        pass


def _fit(log_every_n_steps: int, num_samples: int = 1000, batch_size: int = 64, epochs: int = 2):
    model = small_flow()
    datamodule = Toy2DDataModule(
        name="moons", num_samples=num_samples, batch_size=batch_size, normalization="standard"
    )
    steps, written = StepLosses(), Written()
    trainer = L.Trainer(
        accelerator="cpu",
        max_epochs=epochs,
        limit_val_batches=0,
        logger=written,
        callbacks=[steps],
        log_every_n_steps=log_every_n_steps,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
    )
    trainer.fit(model, datamodule=datamodule)
    return trainer, steps.losses, written.rows


def _mean(losses):
    return sum(loss * size for loss, size in losses) / sum(size for _, size in losses)


def test_epoch_loss_is_the_exact_mean_of_every_step_and_steps_are_window_means():
    trainer, losses, rows = _fit(log_every_n_steps=4)
    per_epoch = len(losses) // 2
    epoch_rows = [m for _, m in rows if "train/loss_epoch" in m]
    assert len(epoch_rows) == 2
    for epoch, metrics in enumerate(epoch_rows):
        exact = _mean(losses[epoch * per_epoch : (epoch + 1) * per_epoch])
        assert metrics["train/loss_epoch"] == pytest.approx(exact, rel=1e-5)
    assert float(trainer.callback_metrics["train/loss_epoch"]) == pytest.approx(
        _mean(losses[per_epoch:]), rel=1e-5
    )

    # written on Lightning's logging steps (every 4th), each the mean of the steps since the last
    step_rows = [(step, m["train/loss_step"]) for step, m in rows if "train/loss_step" in m]
    assert [step for step, _ in step_rows][:3] == [3, 7, 11]
    assert step_rows[0][1] == pytest.approx(_mean(losses[0:4]), rel=1e-5)
    assert step_rows[1][1] == pytest.approx(_mean(losses[4:8]), rel=1e-5)
    lr_steps = [step for step, m in rows if any(k.startswith("lr-") for k in m)]
    assert lr_steps == []  # no LR monitor here; the loss alone decides what is written


def test_logging_every_step_logs_each_batch_loss():
    _, losses, rows = _fit(log_every_n_steps=1, epochs=1)
    step_values = [m["train/loss_step"] for _, m in rows if "train/loss_step" in m]
    assert step_values == pytest.approx([loss for loss, _ in losses], rel=1e-5)


class FakeTrainer:
    is_last_batch = False


def test_timed_progress_bar_redraws_on_its_clock_and_on_the_last_batch(monkeypatch):
    redraws = []
    monkeypatch.setattr(
        RichProgressBar, "on_train_batch_end", lambda self, *args: redraws.append(args[-1])
    )
    clock = iter([0.0, 0.1, 0.2, 0.6, 0.7, 0.8])
    monkeypatch.setattr(
        "flowdiff.training.callbacks.progress_bar.time.monotonic", lambda: next(clock)
    )
    bar, trainer = TimedProgressBar(refresh_interval_s=0.5), FakeTrainer()
    for batch_idx in range(5):
        bar.on_train_batch_end(trainer, None, None, None, batch_idx)
    trainer.is_last_batch = True
    bar.on_train_batch_end(trainer, None, None, None, 5)
    assert redraws == [0, 3, 5]

    with pytest.raises(ValueError, match="refresh_interval_s"):
        TimedProgressBar(refresh_interval_s=-1)


@pytest.mark.parametrize("override, expected", [(None, TimedProgressBar), ("null", None)])
def test_the_configured_bar_or_none_at_all(tmp_path, override, expected):
    overrides = ["experiment=toy2d", "trainer=cpu"]
    if override:
        overrides.append(f"callbacks.progress_bar={override}")
    _, _, trainer = build(compose_config("train", overrides, output_dir=tmp_path))
    bar = trainer.progress_bar_callback
    assert (bar is None) if expected is None else isinstance(bar, expected)


def test_the_bar_shows_the_window_loss_that_lightning_no_longer_reads_every_batch():
    trainer, losses, _ = _fit(log_every_n_steps=4, epochs=1)
    assert not any(key.startswith("train/loss") for key in trainer.progress_bar_metrics)
    shown = TimedProgressBar().get_metrics(trainer, trainer.lightning_module)
    last_window = len(losses) - (len(losses) % 4 or 4)  # the epoch's last batch logs too
    assert shown["train/loss"] == pytest.approx(_mean(losses[last_window:]), rel=1e-5)


def _optimizer_of(tmp_path, *overrides: str) -> torch.optim.Optimizer:
    cfg = compose_config(
        "train",
        ["experiment=toy2d", "trainer=cpu", "callbacks.progress_bar=null", *overrides],
        output_dir=tmp_path,
    )
    _, model, trainer = build(cfg)
    model.trainer = trainer
    return model.configure_optimizers()["optimizer"]


def test_adam_and_adamw_run_fused_unless_lightning_must_clip_mixed_precision_gradients(tmp_path):
    assert _optimizer_of(tmp_path).defaults["fused"] is True
    assert _optimizer_of(tmp_path, "model/optimizer=adam").defaults["fused"] is True
    clipped_bf16 = _optimizer_of(
        tmp_path, "trainer.precision=bf16-mixed", "trainer.gradient_clip_val=1.0"
    )
    assert clipped_bf16.defaults["fused"] is False
    assert _optimizer_of(tmp_path, "trainer.gradient_clip_val=1.0").defaults["fused"] is True
    assert _optimizer_of(tmp_path, "model.optimizer.fused=false").defaults["fused"] is False
    # the library names its own argument; flowdiff-train adds the "model." (test_bad_input)
    with pytest.raises(ConfigError, match=r"^optimizer\.fused='maybe'"):
        _optimizer_of(tmp_path, "model.optimizer.fused=maybe")
    nadam = _optimizer_of(tmp_path, "model.optimizer._target_=torch.optim.NAdam")
    assert isinstance(nadam, torch.optim.NAdam) and "fused" not in nadam.defaults
