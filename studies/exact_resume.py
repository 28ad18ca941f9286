"""Exact resume: N optimizer steps straight against N/2 steps, a stop, and a resume for N/2 more.

Trains the default digits model (MLP narrowed to hidden 128 to keep it quick) on the CPU with
``deterministic=true``, EMA on, cosine schedule with warm-up: once straight for ``--epochs``
epochs, once stopped after half of them (a callback sets ``trainer.should_stop``, as an
interruption would) and resumed from ``checkpoints/last.ckpt`` in the same run folder. Compares the
two final ``last.ckpt``: raw weights, EMA weights, EMA state, optimizer state and schedule. Repeats
the pair without the ``RNGState`` callback (``callbacks.rng_state=null``) to show what it is for.
Writes the ``exact_resume`` section of ``docs/benchmarks.md``.

    python -m studies.exact_resume
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from lightning import Callback

from studies.common import BENCHMARKS_MD, Stopwatch, fit, provenance, quiet, write_section

PARTS = {
    "raw weights": "current_model_state",
    "EMA weights": "state_dict",
    "EMA state (n_averaged)": "averaging_state",
    "optimizer state": "optimizer_states",
    "LR schedule": "lr_schedulers",
}


class StopAfterEpoch(Callback):
    """Stops the run once epoch ``epoch`` (0-based) is done and checkpointed."""

    def __init__(self, epoch: int):
        self.epoch = epoch

    def on_train_epoch_end(self, trainer, pl_module):
        if trainer.current_epoch == self.epoch:
            trainer.should_stop = True


def max_abs_difference(a, b) -> float:
    """Largest absolute difference between two nested structures of tensors and numbers."""
    if isinstance(a, dict):
        return max((max_abs_difference(a[k], b[k]) for k in a), default=0.0)
    if isinstance(a, (list, tuple)):
        return max((max_abs_difference(x, y) for x, y in zip(a, b, strict=True)), default=0.0)
    if isinstance(a, torch.Tensor):
        return (a.double() - b.double()).abs().max().item() if a.numel() else 0.0
    if isinstance(a, (int, float)):
        return abs(a - b)
    return 0.0 if a == b else float("inf")


def compare(folder: Path, overrides: list[str], epochs: int) -> tuple[dict[str, float], int]:
    _, straight = fit(overrides, folder / "straight")
    fit(overrides, folder / "resumed", [StopAfterEpoch(epochs // 2 - 1)])
    last = folder / "resumed" / "checkpoints" / "last.ckpt"
    _, resumed = fit([*overrides, f"ckpt_path={last}"], folder / "resumed")
    assert straight.global_step == resumed.global_step
    a = torch.load(folder / "straight" / "checkpoints" / "last.ckpt", weights_only=False)
    b = torch.load(last, weights_only=False)
    return {name: max_abs_difference(a[key], b[key]) for name, key in PARTS.items()}, int(
        a["global_step"]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batches", type=int, default=8, help="training batches per epoch")
    parser.add_argument("--output", type=Path, default=BENCHMARKS_MD)
    args = parser.parse_args()
    quiet()
    overrides = [
        "trainer=cpu",
        "deterministic=true",
        "model.network.hidden=128",
        f"max_epochs={args.epochs}",
        f"trainer.limit_train_batches={args.batches}",
        "trainer.limit_val_batches=2",
        "model.lr_scheduler.warmup_steps=10",
        "callbacks.sample_figures.every_n_epochs=2",
        "callbacks.sample_figures.num_samples=20",
        "sampling_steps=4",
    ]
    with tempfile.TemporaryDirectory() as tmp, Stopwatch() as watch:
        exact, steps = compare(Path(tmp) / "rng", overrides, args.epochs)
        without, _ = compare(
            Path(tmp) / "norng", [*overrides, "callbacks.rng_state=null"], args.epochs
        )
    rows = [f"| {name} | {exact[name]:.3g} | {without[name]:.3g} |" for name in PARTS]
    print("\n".join(rows))
    body = "\n".join(
        [
            "## Exact resume",
            "",
            *provenance(watch.seconds),
            "",
            f"Default digits config on the CPU, `deterministic=true`, MLP hidden 128, EMA (decay "
            f"0.999) and cosine schedule on: {steps} optimizer steps straight ({args.epochs} "
            f"epochs x {args.batches} batches) against {steps // 2} steps, a stop, and "
            f"`ckpt_path=<run>/checkpoints/last.ckpt` for {steps // 2} more in the same run "
            "folder. Maximum absolute difference between the two final `last.ckpt`:",
            "",
            "| part of the checkpoint | with `RNGState` (default) "
            "| without (`callbacks.rng_state=null`) |",
            "|---|---:|---:|",
            *rows,
            "",
            "With the random states saved in the checkpoint the resumed run is bitwise identical "
            "to the uninterrupted one. Without them the weights drift apart (other noise and "
            "time draws, another data order after the resume), while the optimizer step counts "
            "and schedule still match (Lightning restores those).",
        ]
    )
    write_section(args.output, "exact_resume", body)


if __name__ == "__main__":
    main()
