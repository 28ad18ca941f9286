"""The figures of one evaluated run, written as PNG and (key ones) sent to the run's loggers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.loggers import Logger
from matplotlib.figure import Figure

from flowdiff.evaluation.api import Evaluation
from flowdiff.evaluation.reference import Reference
from flowdiff.inference.sampler_choice import build_sampler
from flowdiff.model.module import GenerativeModule
from flowdiff.plotting import (
    comparison_figure,
    curves_figure,
    density_figure,
    histogram_figure,
    pairplot_figure,
    read_scalars,
    save_figure,
    sweep_figure,
    trajectory_figure,
)
from flowdiff.training.loggers import log_figure

#: Figures logged to the run's loggers as ``eval/<name>``.
KEY_FIGURES = ("samples", "histograms", "density", "sweep", "corner", "sbc", "coverage")


def _trajectories(model: GenerativeModule, evaluation: Evaluation, count: int = 300) -> Figure:
    sampler = build_sampler(model.sampler, {**evaluation.sampler, "return_trajectory": True}, None)
    count = min(count, len(evaluation.samples))
    cond = None if evaluation.cond is None else evaluation.cond[:count]
    generator = torch.Generator(model.device).manual_seed(0)
    out = model.generate(count, cond, sampler=sampler, generator=generator)
    return trajectory_figure(out.trajectory.cpu())


def run_figures(
    model: GenerativeModule,
    evaluation: Evaluation,
    reference: Reference,
    run: Path,
    sweep_rows: list[dict[str, Any]],
    floor: dict[str, float],
) -> dict[str, Figure]:
    """Samples next to real data, per-feature/channel histograms, for vectors a corner plot,
    for 2-D data the density and trajectories, for posteriors SBC and coverage, the run's
    loss/LR curves, and quality against NFE for a sweep."""
    x, real = evaluation.samples, reference.val_x
    grid_cond = evaluation.cond if reference.has_labels else None
    figures = {
        "samples": comparison_figure(
            x[:100], real[:100], None if grid_cond is None else grid_cond[:100]
        ),
        "histograms": histogram_figure(x, real),
    }
    if x.dim() == 2 and x.shape[1] >= 2:
        figures["corner"] = pairplot_figure({"generated": x}, reference=real)
    if evaluation.calibration is not None:
        figures["sbc"] = evaluation.calibration.sbc_figure()
        figures["coverage"] = evaluation.calibration.coverage_figure()
    if x.dim() == 2 and x.shape[1] == 2:
        figures["density"] = density_figure(x, real)
        figures["trajectories"] = _trajectories(model, evaluation)
    curves = curves_figure(read_scalars(run / "tensorboard"))
    if curves is not None:
        figures["curves"] = curves
    if sweep_rows:
        metrics = [m for m in floor if m in sweep_rows[0]]
        figures["sweep"] = sweep_figure(sweep_rows, metrics, {sweep_rows[0]["run"]: floor})
    return figures


def write_figures(
    figures: dict[str, Figure], folder: Path, loggers: Sequence[Logger] = (), step: int = 0
) -> list[str]:
    """``<name>.png`` for every figure; the :data:`KEY_FIGURES` also as ``eval/<name>`` to
    every logger that takes images (:func:`flowdiff.training.loggers.log_figure`)."""
    for name, fig in figures.items():
        if name in KEY_FIGURES:
            log_figure(loggers, f"eval/{name}", fig, step)
        save_figure(fig, folder / f"{name}.png")
    return [f"{name}.png" for name in figures]
