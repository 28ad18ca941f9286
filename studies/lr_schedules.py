"""Each learning-rate schedule over a short run, read back from the learning rate the run logged.

Trains a small flow-matching model on toy 2-D data once per ``configs/model/lr_scheduler/*.yaml``
(120 optimizer steps: 12 epochs of 10 batches) and reads the ``lr-AdamW`` scalar that Lightning's
``LearningRateMonitor`` wrote to TensorBoard at every step. Writes ``docs/lr_schedules.png`` and the
``lr_schedules`` section of ``docs/benchmarks.md``.

    python -m studies.lr_schedules
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from flowdiff.config.location import config_dir
from studies.common import (
    BENCHMARKS_MD,
    Stopwatch,
    fit,
    provenance,
    quiet,
    scalars,
    write_section,
)

BASE = [
    "trainer=cpu",
    "experiment=toy2d",
    "data.num_samples=3000",
    "model.network.hidden=32",
    "model.network.depth=1",
    "max_epochs=12",
    "trainer.limit_train_batches=10",
    "trainer.limit_val_batches=2",
    "base_lr=1e-3",
    "callbacks.sample_figures=null",
    "trainer.log_every_n_steps=1",
]
#: Options that make each schedule's shape visible within 120 steps.
OPTIONS = {
    "constant": ["model.lr_scheduler.warmup_steps=10"],
    "cosine": ["model.lr_scheduler.warmup_ratio=0.1", "model.lr_scheduler.min_lr_ratio=0.05"],
    "linear": ["model.lr_scheduler.warmup_steps=10"],
    "exponential": ["model.lr_scheduler.gamma=0.98", "model.lr_scheduler.warmup_steps=10"],
    "step": ["model.lr_scheduler.step_size=30"],
    "multistep": ["model.lr_scheduler.milestones=[40,80]"],
    "plateau": ["model.lr_scheduler.patience=0", "model.lr_scheduler.factor=0.7"],
}


def logged_lr(run: Path) -> tuple[list[int], list[float]]:
    """The per-step learning rate (``LearningRateMonitor``'s ``lr-AdamW``), from TensorBoard."""
    points = scalars(run, "lr-AdamW")
    return [step for step, _ in points], [value for _, value in points]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=BENCHMARKS_MD)
    args = parser.parse_args()
    quiet()
    names = sorted(p.stem for p in (Path(config_dir()) / "model" / "lr_scheduler").glob("*.yaml"))
    curves, rows = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            overrides = [*BASE, f"model/lr_scheduler={name}", *OPTIONS.get(name, [])]
            with Stopwatch() as watch:
                fit(overrides, Path(tmp) / name)
            steps, lrs = logged_lr(Path(tmp) / name)
            curves[name] = (steps, lrs)
            rows.append(
                f"| `{name}` | {' '.join(OPTIONS.get(name, [])) or '-'} | {lrs[0]:.2e} | "
                f"{max(lrs):.2e} | {lrs[-1]:.2e} | {len(lrs)} | {watch.seconds:.1f} |"
            )
            print(rows[-1], flush=True)

    figure = args.output.parent / "lr_schedules.png"
    fig, axes = plt.subplots(1, 2, figsize=(12, 4), layout="constrained")
    for name, (steps, lrs) in curves.items():
        axes[0 if name in ("constant", "cosine", "linear") else 1].plot(steps, lrs, label=name)
    for ax, title in zip(
        axes, ("warm-up and decay", "exponential, step, multistep, plateau"), strict=True
    ):
        ax.set(xlabel="optimizer step", ylabel="logged lr", title=title)
        ax.legend()
        ax.grid(alpha=0.3)
    fig.savefig(figure, dpi=100)

    body = "\n".join(
        [
            "## Learning-rate schedules",
            "",
            *provenance(),
            "",
            "Each schedule trains the same small model (toy2d, MLP hidden 32, base_lr 1e-3) for "
            "120 "
            "optimizer steps (12 epochs x 10 batches); the curves are the `lr-AdamW` values the "
            "run logged at every step (Lightning's `LearningRateMonitor`, read back from "
            "TensorBoard), not recomputed. `plateau` is the one stepped per validation (on "
            "`val/loss`, patience 0 here to make it move).",
            "",
            f"![learning-rate schedules]({figure.name})",
            "",
            "| schedule | options | first lr | max lr | last lr | logged steps | run s |",
            "|---|---|---:|---:|---:|---:|---:|",
            *rows,
        ]
    )
    write_section(args.output, "lr_schedules", body)


if __name__ == "__main__":
    main()
