"""Loss and learning-rate curves of a run: the one figure for both its TensorBoard records
(against the step) and its ``metrics.csv`` table (against the epoch, ``loss_curve.png``)."""

from __future__ import annotations

import csv
from pathlib import Path

from matplotlib.figure import Figure

#: (steps, values) of one scalar tag.
Series = tuple[list[int], list[float]]


def read_scalars(folder: Path | str) -> dict[str, Series]:
    """Every scalar logged under ``folder`` (a run's ``tensorboard/``), by tag, in step order."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    scalars: dict[str, dict[int, float]] = {}
    for file in sorted(Path(folder).rglob("events.out.tfevents.*")):
        accumulator = EventAccumulator(str(file), size_guidance={"scalars": 0})
        accumulator.Reload()
        for tag in accumulator.Tags()["scalars"]:
            points = scalars.setdefault(tag, {})
            points.update({event.step: event.value for event in accumulator.Scalars(tag)})
    return {tag: (sorted(p), [p[s] for s in sorted(p)]) for tag, p in scalars.items()}


def read_metrics(table: Path | str) -> dict[int, dict[str, str]]:
    """Rows of a run's ``metrics.csv`` by epoch; a resumed run's rows replace the earlier ones."""
    with open(table, newline="") as file:
        return {int(row["epoch"]): row for row in csv.DictReader(file)}


def metrics_series(rows: dict[int, dict[str, str]]) -> dict[str, Series]:
    """``train/loss``, ``val/loss`` and ``lr`` against the epoch from :func:`read_metrics` rows,
    as :func:`curves_figure` takes them."""
    series: dict[str, Series] = {}
    for column, tag in (("train_loss", "train/loss"), ("val_loss", "val/loss"), ("lr", "lr")):
        points = [
            (epoch, float(rows[epoch][column])) for epoch in sorted(rows) if rows[epoch].get(column)
        ]
        if points:
            epochs, values = zip(*points, strict=True)
            series[tag] = (list(epochs), list(values))
    return series


def curves_figure(scalars: dict[str, Series], x_label: str = "step") -> Figure | None:
    """Losses (``*loss*`` tags) and, when logged, learning rates (``lr*`` tags) against
    ``x_label``, in two panels; ``None`` when neither was logged. The loss axis is logarithmic
    when the losses span more than a decade."""
    losses = {tag: s for tag, s in scalars.items() if "loss" in tag}
    # LearningRateMonitor logs `lr-<Optimizer>` or, per parameter group, `lr-<Optimizer>/pg1`.
    rates = {tag: s for tag, s in scalars.items() if tag.split("/")[0].startswith("lr")}
    if not losses and not rates:
        return None
    fig = Figure(figsize=(11, 4) if rates else (6, 4), layout="constrained")
    loss_ax, *lr_ax = fig.subplots(1, 2 if rates else 1, squeeze=False)[0]
    for tag, (steps, values) in sorted(losses.items()):
        style = "o-" if len(steps) < 30 else "-"
        thin = {"alpha": 0.35, "linewidth": 0.8} if tag.endswith("_step") else {}
        loss_ax.plot(steps, values, style, markersize=3, label=tag, **thin)
    values = [v for _, series in losses.values() for v in series]
    wide = values and min(values) > 0 and max(values) / min(values) > 10
    loss_ax.set(xlabel=x_label, ylabel="loss", yscale="log" if wide else "linear", title="loss")
    for tag, (steps, values) in sorted(rates.items()):
        lr_ax[0].plot(steps, values, label=tag)
    if lr_ax:
        lr_ax[0].set(xlabel=x_label, ylabel="learning rate", title="learning rate")
    for ax in fig.axes:
        if ax.lines:
            ax.legend(fontsize=8)
    return fig
