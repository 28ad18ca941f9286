"""Draws samples during training and shows them next to real data (PNG and every logger)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import torch
from lightning import Callback, LightningModule, Trainer
from lightning.pytorch.utilities import rank_zero_info
from torch import Tensor

from flowdiff.plotting import comparison_figure, save_figure
from flowdiff.training.loggers import log_figure


class SampleFigures(Callback):
    """Every ``every_n_epochs`` validations (and once at the end), sample the model with the
    conditions of the first validation samples and write ``<run>/samples/<tag>.png``; the figure
    also goes as ``val/samples`` to every logger that takes images (TensorBoard, W&B, MLflow).

    Sampling is costly, so it is rate-limited; its random stream is fixed by ``seed`` so that
    figures of successive epochs compare like with like and training randomness is untouched.

    Figures show the weights validation sees: with an EMA callback (listed before this one, as
    :func:`flowdiff.training.order_callbacks` arranges) the EMA weights, which are swapped in when
    validation starts and copied into the model when training ends.

    A figure costs ``num_samples`` full sampler runs, which for large data (thousands of
    features, a CNN on a CPU) can take far longer than training. So the first figure times one
    sample, and every figure then draws as many samples as fit in ``max_seconds`` (at least one,
    at most ``num_samples``), saying so in the log when that is fewer than ``num_samples``.

    Args:
        every_n_epochs: epochs between figures (0 draws only the final one).
        num_samples: samples per figure.
        dirname: folder under the run directory.
        seed: seed of the sampling noise.
        max_seconds: time budget of one figure's sampling; ``None`` draws ``num_samples``
            whatever it costs.
    """

    def __init__(
        self,
        every_n_epochs: int = 10,
        num_samples: int = 100,
        dirname: str = "samples",
        seed: int = 0,
        max_seconds: float | None = 60.0,
    ):
        super().__init__()
        if max_seconds is not None and max_seconds <= 0:
            raise ValueError(f"max_seconds={max_seconds} must be > 0 (or None for no budget).")
        self.every_n_epochs = every_n_epochs
        self.num_samples = num_samples
        self.dirname = dirname
        self.seed = seed
        self.max_seconds = max_seconds
        self._count: int | None = None  # samples per figure, once the budget has been measured
        self._last: tuple[Tensor, Path] | None = None  # (weights' fingerprint, PNG) of the latest

    def on_validation_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        # At the start, not the end: an EMA callback swaps its weights in when validation starts
        # and back out when it ends.
        if trainer.sanity_checking or self.every_n_epochs <= 0:
            return
        if (trainer.current_epoch + 1) % self.every_n_epochs == 0:
            self.draw(trainer, pl_module, f"epoch{trainer.current_epoch:03d}")

    def on_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self._last is not None and torch.equal(self._last[0], _fingerprint(pl_module)):
            # The weights have not changed since the latest figure: no need to sample again.
            shutil.copyfile(self._last[1], self._last[1].with_name("final.png"))
            return
        self.draw(trainer, pl_module, "final")

    def _real_batch(self, trainer: Trainer) -> dict[str, torch.Tensor] | None:
        loaders = trainer.val_dataloaders
        loader = loaders[0] if isinstance(loaders, list) else loaders
        if loader is None:
            return None
        return next(iter(loader))

    def _sample(self, pl_module: LightningModule, batch: dict[str, Tensor], count: int) -> Tensor:
        generator = torch.Generator(pl_module.device).manual_seed(self.seed)
        cond = batch.get("cond")
        cond = None if cond is None else pl_module.denormalize_cond(cond[:count])  # data units
        return pl_module.sample(num_samples=count, cond=cond, generator=generator)

    def samples_per_figure(self, pl_module: LightningModule, batch: dict[str, Tensor]) -> int:
        """How many samples fit in ``max_seconds``, from the time one sample takes (measured
        once, on the first figure)."""
        wanted = min(self.num_samples, len(batch["x"]))
        if self._count is not None or self.max_seconds is None or wanted <= 1:
            return self._count or wanted
        start = time.perf_counter()
        self._sample(pl_module, batch, 1)
        seconds = time.perf_counter() - start
        self._count = max(1, min(wanted, int(self.max_seconds / seconds)))
        if self._count < wanted:
            rank_zero_info(
                f"Sample figures: {self._count} of {wanted} samples each, to stay within "
                f"max_seconds={self.max_seconds:g} (one sample takes {seconds:.2f} s); raise "
                "callbacks.sample_figures.max_seconds for more."
            )
        return self._count

    def draw(self, trainer: Trainer, pl_module: LightningModule, tag: str) -> Path | None:
        """Sample, draw and write the figure; returns the PNG path (rank 0 only)."""
        batch = self._real_batch(trainer) if trainer.is_global_zero else None
        if batch is None:
            return None
        was_training = pl_module.training
        pl_module.eval()
        count = self.samples_per_figure(pl_module, batch)
        generated = self._sample(pl_module, batch, count)
        pl_module.train(was_training)
        cond = batch.get("cond")
        cond = None if cond is None else pl_module.denormalize_cond(cond[:count])
        real = pl_module.to_data_units(batch["x"][:count].to(pl_module.device))

        fig = comparison_figure(generated, real, cond)
        log_figure(trainer.loggers, "val/samples", fig, trainer.global_step)
        folder = Path(trainer.default_root_dir) / self.dirname
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{tag}.png"
        save_figure(fig, path)
        self._last = (_fingerprint(pl_module), path)
        return path


def _fingerprint(module: LightningModule) -> Tensor:
    """A cheap summary of the weights (one sum per parameter) to tell whether they changed."""
    with torch.no_grad():
        return torch.stack([p.detach().double().sum() for p in module.parameters()]).cpu()
