"""The whole default ``flowdiff-train`` job against a hand-written loop doing the same work.

The flowdiff side is the default digits job as ``flowdiff-train`` builds it
(:func:`flowdiff.training.build` from ``configs/train.yaml``) with every default callback: EMA,
validation on the EMA weights, ``last.ckpt`` plus the best two checkpoints by ``val/loss``
(atomic, fsynced), the run records, the rate-limited sample figures, the progress bar, LR monitor,
NaN guard, RNG state and TensorBoard logging. Only ``max_epochs`` and the run folder differ.

The hand loop trains the same network on the same datamodule's batches with the same fused AdamW,
the same warm-up + cosine schedule (a ``LambdaLR``), conditional OT flow matching written out, an
EMA of the weights (``AveragedModel`` with torch's EMA update), the validation loss on the EMA
weights every epoch, and one atomic checkpoint (weights, EMA, optimizer, schedule) per epoch;
labels are dropped for classifier-free guidance and noise is paired by minibatch OT as the config
says (``model.cond_drop_prob``, ``model.path.coupling``).

Both sides record when each training epoch starts (wall clock and the process's CPU time); the
rate is the epochs between the start of epoch ``first`` and the start of the last epoch, so it
covers whole epochs (training, validation, checkpoints, records and, when the span holds one, a
figure) after a warm-up, and neither the setup nor the end of the run. On a machine shared with
other jobs the CPU-time rate is the steadier figure (it misses waits for the disk, which the
wall-clock rate counts). The whole fit's wall time is kept beside them.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import torch
from hydra.utils import instantiate
from lightning.pytorch.callbacks import Callback
from omegaconf import DictConfig
from torch.optim.lr_scheduler import LambdaLR
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from flowdiff.checkpoints.atomic_io import atomic_torch_save
from flowdiff.config import compose_config
from flowdiff.paths.coupling import minibatch_ot
from flowdiff.training import build
from studies.common import Stopwatch


@dataclass
class JobTiming:
    epochs_per_s: float  # over the timed epochs, wall clock
    epochs_per_cpu_s: float  # the same, per second of this process's CPU time
    epochs: int  # timed epochs
    fit_seconds: float  # the whole fit: setup, every epoch and the end of the run


def now() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def timing(starts: list[tuple[float, float]], fit_seconds: float, first: int) -> JobTiming:
    """Epochs per second (wall, CPU) from the start times of epochs ``first .. len - 1``."""
    epochs = len(starts) - 1 - first
    (wall_0, cpu_0), (wall_1, cpu_1) = starts[first], starts[-1]
    return JobTiming(epochs / (wall_1 - wall_0), epochs / (cpu_1 - cpu_0), epochs, fit_seconds)


def job_config(folder: Path, epochs: int, overrides: list[str]) -> DictConfig:
    """The default training config, ``epochs`` long, writing into ``folder``."""
    return compose_config("train", [f"max_epochs={epochs}", *overrides], output_dir=folder)


class EpochClock(Callback):
    """Records the wall clock and CPU time when each training epoch starts."""

    def __init__(self) -> None:
        self.starts: list[tuple[float, float]] = []

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.starts.append(now())


def time_flowdiff_job(cfg: DictConfig, first: int) -> JobTiming:
    """Seed, build and fit as :func:`flowdiff.training.train` does, with an epoch clock."""
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule, model, trainer = build(cfg)
    clock = EpochClock()
    trainer.callbacks.append(clock)
    with Stopwatch() as watch:
        trainer.fit(model, datamodule=datamodule)
    return timing(clock.starts, watch.seconds, first)


def warmup_cosine(warmup: int, total: int, min_ratio: float):
    """The learning-rate factor of step ``s``: linear warm-up, then half a cosine to
    ``min_ratio``."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def flow_matching_loss(
    network: torch.nn.Module, batch: dict, cond_drop_prob: float = 0.0, ot: bool = False
) -> torch.Tensor:
    """Conditional OT flow matching: ``x_t = t x_1 + (1 - t) x_0``, target ``x_1 - x_0``; each
    label dropped with probability ``cond_drop_prob`` (classifier-free guidance training), and
    with ``ot`` the noise paired with the data by minibatch optimal transport within each class
    (the same POT solve as ``coupling=ot``)."""
    x_1, cond = batch["x"], batch.get("cond")
    x_0 = torch.randn_like(x_1)
    if ot:
        x_0 = minibatch_ot(x_0, x_1, cond)
    t = torch.rand(x_1.shape[0])
    t_ = t.view(-1, *([1] * (x_1.dim() - 1)))
    x_t = t_ * x_1 + (1 - t_) * x_0
    if cond is not None and cond_drop_prob > 0:
        output = network(x_t, t, cond, torch.rand(x_1.shape[0]) < cond_drop_prob)
    else:
        output = network(x_t, t, cond)
    return (output.float() - (x_1 - x_0)).pow(2).mean()


def time_hand_job(cfg: DictConfig, folder: Path, first: int) -> JobTiming:
    """The same work as the default job, written as a plain PyTorch loop (see the module)."""
    L.seed_everything(cfg.seed, verbose=False)
    starts = []
    with Stopwatch() as watch:
        datamodule = instantiate(cfg.data)
        datamodule.setup("fit")
        train_loader, val_loader = datamodule.train_dataloader(), datamodule.val_dataloader()
        network = instantiate(cfg.model.network)
        ema = AveragedModel(network, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema_decay))
        optimizer = torch.optim.AdamW(
            network.parameters(),
            lr=cfg.base_lr,
            weight_decay=cfg.model.optimizer.weight_decay,
            fused=cfg.model.optimizer.get("fused"),
        )
        schedule = cfg.model.lr_scheduler
        total = cfg.max_epochs * len(train_loader)
        factor = warmup_cosine(schedule.warmup_steps, total, schedule.min_lr_ratio)
        scheduler = LambdaLR(optimizer, factor)
        for epoch in range(cfg.max_epochs):
            starts.append(now())
            network.train()
            for batch in train_loader:
                loss = flow_matching_loss(
                    network, batch, cfg.model.cond_drop_prob, cfg.model.path.coupling == "ot"
                )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                ema.update_parameters(network)
            ema.eval()
            with torch.no_grad():
                losses = [flow_matching_loss(ema.module, batch) for batch in val_loader]
            state = {
                "epoch": epoch,
                "val_loss": float(torch.stack(losses).mean()),
                "network": network.state_dict(),
                "ema": ema.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
            }
            atomic_torch_save(state, folder / "checkpoints" / "last.ckpt")
    return timing(starts, watch.seconds, first)
