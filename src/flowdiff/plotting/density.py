"""2-D figures: density of generated against real samples, and sampling trajectories."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from torch import Tensor


def _extent(*samples: np.ndarray, pad: float = 0.1) -> list[list[float]]:
    both = np.concatenate(samples)
    low, high = np.percentile(both, 0.5, axis=0), np.percentile(both, 99.5, axis=0)
    margin = pad * (high - low)
    return [[low[i] - margin[i], high[i] + margin[i]] for i in range(2)]


def density_figure(generated: Tensor, real: Tensor | None = None, bins: int = 100) -> Figure:
    """2-D histograms (log colour scale) of ``generated`` ``(N, 2)`` and ``real`` ``(M, 2)``
    on one common extent, side by side."""
    panels = [(generated.detach().cpu().numpy(), "generated")]
    if real is not None:
        panels.append((real.detach().cpu().numpy(), "real"))
    extent = _extent(*(points for points, _ in panels))
    fig = Figure(figsize=(5 * len(panels), 5))
    axes = fig.subplots(1, len(panels), squeeze=False)
    for ax, (points, title) in zip(axes[0], panels, strict=True):
        ax.hist2d(points[:, 0], points[:, 1], bins=bins, range=extent, norm=LogNorm(), cmap="magma")
        ax.set_facecolor("black")  # empty bins: the colour map's zero end
        ax.set_aspect("equal")
        ax.set_title(f"{title} density ({len(points)} samples)")
    fig.tight_layout()
    return fig


def trajectory_figure(trajectory: Tensor, max_paths: int = 300) -> Figure:
    """Paths of 2-D samples from noise to data, ``trajectory`` ``(T, N, 2)`` (first state is
    the noise, last the sample), at most ``max_paths`` of them."""
    states = trajectory.detach().cpu().numpy()[:, :max_paths]
    fig = Figure(figsize=(6, 6))
    ax = fig.subplots()
    ax.plot(states[:, :, 0], states[:, :, 1], color="0.6", linewidth=0.5, alpha=0.6)
    ax.scatter(*states[0].T, s=4, color="tab:blue", label="noise (start)", zorder=3)
    ax.scatter(*states[-1].T, s=4, color="tab:red", label="sample (end)", zorder=3)
    ax.set_aspect("equal")
    ax.legend(loc="upper right")
    ax.set_title(f"sampling trajectories ({len(states) - 1} steps)")
    fig.tight_layout()
    return fig
