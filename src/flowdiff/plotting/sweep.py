"""Sample quality against the number of network evaluations (NFE), one line per sampler."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure


def sweep_figure(rows: Sequence[dict[str, Any]], metrics: Sequence[str]) -> Figure:
    """One panel per metric: its value against NFE (log scale), one line per run and sampler
    ``kind`` (the rows' ``run``, ``kind``, ``nfe`` and metric keys); a dashed line marks each
    metric's ``floor`` (real against real data) when the rows carry one."""
    fig = Figure(figsize=(5 * len(metrics), 4))
    axes = fig.subplots(1, len(metrics), squeeze=False)
    lines: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        lines.setdefault((row["run"], row["kind"]), []).append(row)
    for ax, metric in zip(axes[0], metrics, strict=True):
        for (run, kind), points in lines.items():
            points = sorted(points, key=lambda r: r["nfe"])
            label = f"{run}: {kind}" if len({r for r, _ in lines}) > 1 else kind
            ax.plot([p["nfe"] for p in points], [p[metric] for p in points], "o-", label=label)
        floors = {row.get(f"floor/{metric}") for row in rows} - {None}
        for floor in floors:
            ax.axhline(floor, color="0.4", linestyle="--", linewidth=1, label="real vs real")
        ax.set(xscale="log", xlabel="NFE", ylabel=metric, title=f"{metric} vs NFE")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
