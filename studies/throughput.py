"""Training throughput of flowdiff's Trainer against a minimal hand-written PyTorch loop.

Both sides train the same network (built from ``configs/`` with the same overrides), on the same
batches of the same datamodule, with the same optimizer settings, precision and compile choice, for
the same number of steps; each is timed after ``warmup`` steps. The flowdiff side is exactly what
``flowdiff-train`` builds (``flowdiff.training.build``), with validation, checkpointing and figures
switched off so both sides time the same work: training steps (logging stays on, as users run it).

Used by ``overhead.py`` (CPU) and ``gpu_throughput.py`` (GPU).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import lightning as L
import numpy as np
import torch
from hydra.utils import instantiate
from lightning.pytorch.callbacks import Callback
from omegaconf import DictConfig

from flowdiff.config import compose_config
from flowdiff.training import build

#: what the flowdiff side runs without, so both sides time training steps only
NO_EXTRAS = [
    "trainer.limit_val_batches=0",
    "+trainer.num_sanity_val_steps=0",
    "+trainer.enable_checkpointing=false",
    "~callbacks.model_checkpoint",
    "~callbacks.last_checkpoint",
    "~callbacks.ema",  # the hand-written loop keeps no moving average
    "~callbacks.sample_figures",
    "++callbacks.early_stopping=null",  # data=arrays stops on val/loss, which is not computed
]


@dataclass
class Case:
    """One benchmarked setting: Hydra overrides of ``configs/train.yaml`` and a batch size.

    An override may name ``{images}``: a file of random images ``x`` of ``image_shape`` that
    :func:`case_config` writes first (for networks that need larger images than the digits).
    """

    name: str
    overrides: list[str] = field(default_factory=list)
    batch_size: int = 128
    image_shape: tuple[int, ...] = (3, 32, 32)
    num_images: int = 4096
    #: ``cond_shape`` of random float conditions written beside the images (``None``: none)
    cond_shape: tuple[int, ...] | None = None
    #: keep flowdiff's EMA callback on; the hand loop then updates an EMA of its own
    ema: bool = False


def write_images(
    path: Path, shape: tuple[int, ...], count: int, cond_shape: tuple[int, ...] | None = None
) -> Path:
    """Random images ``x`` ``(count, *shape)`` (and conditions ``cond`` ``(count,
    *cond_shape)``) in an ``.npz`` for ``data=arrays``."""
    if not path.is_file():
        generator = torch.Generator().manual_seed(0)
        arrays = {"x": torch.rand(count, *shape, generator=generator).numpy()}
        if cond_shape is not None:
            arrays["cond"] = torch.randn(count, *cond_shape, generator=generator).numpy()
        np.savez(path, **arrays)
    return path


@dataclass
class Timing:
    samples_per_s: float
    seconds: float
    steps: int


def case_config(
    case: Case, accelerator: str, precision: str, compile: bool, output_dir: Path
) -> DictConfig:
    """The composed config of ``case`` on ``accelerator`` with ``precision`` and compile."""
    overrides = case.overrides
    if any("{images}" in override for override in overrides):
        images = write_images(
            output_dir / "images.npz", case.image_shape, case.num_images, case.cond_shape
        )
        overrides = [override.format(images=images) for override in overrides]
    extras = [o for o in NO_EXTRAS if not (case.ema and o == "~callbacks.ema")]
    return compose_config(
        "train",
        [
            *overrides,
            f"batch_size={case.batch_size}",
            f"trainer.accelerator={accelerator}",
            f"trainer.precision={precision}",
            f"model.compile={str(compile).lower()}",
            *extras,
        ],
        output_dir=output_dir,
    )


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def clock(device: torch.device):
    """The process's CPU seconds on the CPU (what counts on a machine shared with other jobs,
    where wall time also holds the waits for a core), wall seconds on a GPU."""
    return time.process_time if device.type == "cpu" else time.perf_counter


class StepTimer(Callback):
    """Times optimizer steps ``warmup + 1 .. warmup + steps`` of a Lightning run (see
    :func:`clock`)."""

    def __init__(self, warmup: int, steps: int):
        self.warmup, self.steps = warmup, steps
        self.start = self.end = None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if trainer.global_step == self.warmup:
            _sync(pl_module.device)
            self.start = clock(pl_module.device)()
        elif trainer.global_step == self.warmup + self.steps:
            _sync(pl_module.device)
            self.end = clock(pl_module.device)()
            trainer.should_stop = True


def time_flowdiff(cfg: DictConfig, warmup: int, steps: int) -> Timing:
    """Train with flowdiff's own Trainer, module and datamodule; time steps after warm-up."""
    L.seed_everything(cfg.seed, verbose=False)
    datamodule, model, trainer = build(cfg)
    timer = StepTimer(warmup, steps)
    trainer.callbacks.append(timer)
    trainer.fit_loop.max_epochs = 10**6  # the timer stops the run
    trainer.fit(model, datamodule=datamodule)
    seconds = timer.end - timer.start
    return Timing(steps * cfg.batch_size / seconds, seconds, steps)


def _autocast(device: torch.device, precision: str):
    dtype = {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}.get(precision)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def _batches(loader):
    """Endless iteration over a DataLoader, epoch after epoch."""
    while True:
        yield from loader


class HandEMA:
    """The EMA a hand-written loop keeps: one ``lerp_`` per parameter after each step, with
    flowdiff's warm-up ``min(0.999, (1 + n) / (10 + n))``."""

    def __init__(self, network: torch.nn.Module, decay: float = 0.999):
        self.live = [p.detach() for p in network.parameters()]
        self.average = [p.clone() for p in self.live]
        self.decay, self.n = decay, 0

    @torch.no_grad()
    def update(self) -> None:
        self.n += 1
        weight = 1 - min(self.decay, (1 + self.n) / (10 + self.n))
        for average, live in zip(self.average, self.live, strict=True):
            average.lerp_(live, weight)


def time_hand_loop(cfg: DictConfig, warmup: int, steps: int) -> Timing:
    """The same network, data, optimizer and precision in a loop written by hand: conditional
    OT flow matching (``x_t = t x_1 + (1 - t) x_0``, target ``x_1 - x_0``), MSE, AdamW (fused
    when the config's optimizer is, so both sides run the same optimizer kernels)."""
    L.seed_everything(cfg.seed, verbose=False)
    device = torch.device("cuda" if cfg.trainer.accelerator in ("gpu", "cuda") else "cpu")
    datamodule = instantiate(cfg.data)
    datamodule.setup("fit")
    network = instantiate(cfg.model.network).to(device)
    optimizer = torch.optim.AdamW(
        network.parameters(),
        lr=cfg.base_lr,
        weight_decay=cfg.model.optimizer.weight_decay,
        fused=cfg.model.optimizer.get("fused"),  # the same implementation as flowdiff's
    )
    step_fn = torch.compile(network) if cfg.model.compile else network
    scaler = torch.amp.GradScaler(device.type, enabled=cfg.trainer.precision == "16-mixed")
    batches = _batches(datamodule.train_dataloader())
    ema = HandEMA(network) if cfg.callbacks.get("ema") else None
    for step in range(warmup + steps):
        if step == warmup:
            _sync(device)
            start = clock(device)()
        batch = next(batches)
        x_1 = batch["x"].to(device, non_blocking=True)
        cond = batch["cond"].to(device, non_blocking=True) if "cond" in batch else None
        x_0 = torch.randn_like(x_1)
        t = torch.rand(x_1.shape[0], device=device)
        t_ = t.view(-1, *([1] * (x_1.dim() - 1)))
        with _autocast(device, cfg.trainer.precision):
            output = step_fn(t_ * x_1 + (1 - t_) * x_0, t, cond)
        loss = (output.float() - (x_1 - x_0)).pow(2).mean()
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        if ema is not None:
            ema.update()
    _sync(device)
    seconds = clock(device)() - start
    return Timing(steps * cfg.batch_size / seconds, seconds, steps)


def training_flops(cfg: DictConfig, device: str = "cpu", count_batch: int = 2) -> float:
    """Floating-point operations of one forward and backward pass of the network on a batch of
    ``cfg.batch_size``, counted by ``torch.utils.flop_counter`` (matrix products, attention and
    convolutions) on ``count_batch`` samples and scaled: every counted operation is linear in
    the batch size."""
    from torch.utils.flop_counter import FlopCounterMode

    datamodule = instantiate(cfg.data)
    datamodule.setup("fit")
    batch = next(iter(datamodule.train_dataloader()))
    x = batch["x"][:count_batch].to(device)
    cond = batch["cond"][:count_batch].to(device) if "cond" in batch else None
    network = instantiate(cfg.model.network).to(device)
    counter = FlopCounterMode(display=False)
    with counter:
        output = network(x, torch.rand(x.shape[0], device=device), cond)
        output.float().pow(2).mean().backward()
    return float(counter.get_total_flops()) * cfg.batch_size / x.shape[0]
