"""The loss-curve figure drawn from a run's ``metrics.csv``."""

from __future__ import annotations

import csv
from pathlib import Path

from matplotlib.figure import Figure

from flowdiff.plotting import save_figure


def read_metrics(table: Path) -> dict[int, dict[str, str]]:
    """Rows of ``metrics.csv`` by epoch; a resumed run's rows replace the earlier ones."""
    with open(table, newline="") as file:
        return {int(row["epoch"]): row for row in csv.DictReader(file)}


def plot_loss_curve(table: Path, path: Path) -> Path:
    """Train and validation loss against epoch (log scale when the values span a decade)."""
    rows = read_metrics(table)
    epochs = sorted(rows)
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.subplots()
    for column, label in (("train_loss", "train"), ("val_loss", "val")):
        points = [(e, float(rows[e][column])) for e in epochs if rows[e].get(column)]
        if points:
            x, y = zip(*points, strict=True)
            ax.plot(x, y, marker="." if len(points) < 50 else None, label=label)
    values = [float(r[c]) for r in rows.values() for c in ("train_loss", "val_loss") if r.get(c)]
    if values and min(values) > 0 and max(values) / min(values) > 10:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    ax.grid(alpha=0.3)
    save_figure(fig, path)
    return path
