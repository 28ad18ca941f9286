"""Sample quality against the number of network evaluations (NFE), one line per sampler."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure


def sweep_figure(
    rows: Sequence[dict[str, Any]],
    metrics: Sequence[str],
    floors: dict[str, dict[str, float]] | None = None,
) -> Figure:
    """One panel per metric: its value against NFE (log scale), one line per run and sampler
    ``kind`` (the rows' ``run``, ``kind``, ``nfe`` and metric keys). ``floors`` maps a run to
    its real-vs-real metrics, drawn as dashed lines: values below them are sampling noise."""
    fig = Figure(figsize=(5 * len(metrics), 4))
    axes = fig.subplots(1, len(metrics), squeeze=False)
    lines: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        lines.setdefault((row["run"], row["kind"]), []).append(row)
    several = len({run for run, _ in lines}) > 1
    for ax, metric in zip(axes[0], metrics, strict=True):
        for (run, kind), points in lines.items():
            points = sorted(points, key=lambda r: r["nfe"])
            label = f"{run}: {kind}" if several else kind
            ax.plot([p["nfe"] for p in points], [p[metric] for p in points], "o-", label=label)
        for run, floor in (floors or {}).items():
            if metric in floor:
                label = f"{run}: real vs real" if several else "real vs real"
                ax.axhline(floor[metric], color="0.4", linestyle="--", linewidth=1, label=label)
        values = [row[metric] for row in rows if metric in row]
        spread = min(values) > 0 and max(values) > 20 * min(values)
        ax.set(xscale="log", yscale="log" if spread else "linear", xlabel="NFE", ylabel=metric)
        ax.set_title(f"{metric} vs NFE")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
