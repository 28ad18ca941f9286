"""Real-against-generated histograms, per feature for vectors and per channel for images."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure
from torch import Tensor


def _columns(samples: Tensor) -> tuple[np.ndarray, str]:
    """``(N, K)`` values to histogram and the name of ``K``: all pixel values per channel for
    images ``(N, C, H, W)``, each feature for other data."""
    data = samples.detach().float().cpu()
    if data.dim() == 4:
        return data.transpose(0, 1).flatten(1).T.numpy(), "channel"
    return data.flatten(1).numpy(), "feature"


def histogram_figure(
    generated: Tensor, real: Tensor, max_panels: int = 16, bins: int = 50
) -> Figure:
    """One panel per feature (vectors) or channel (images, all pixels pooled), the real and
    generated histograms overlaid on shared bins; at most ``max_panels`` panels."""
    fake, kind = _columns(generated)
    true, _ = _columns(real)
    panels = min(fake.shape[1], max_panels)
    ncols = min(panels, 4)
    nrows = math.ceil(panels / ncols)
    fig = Figure(figsize=(4 * ncols, 3 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i >= panels:
            ax.axis("off")
            continue
        edges = np.histogram_bin_edges(np.concatenate([true[:, i], fake[:, i]]), bins=bins)
        ax.hist(true[:, i], bins=edges, density=True, alpha=0.5, label="real")
        ax.hist(fake[:, i], bins=edges, density=True, alpha=0.5, label="generated")
        ax.set_title(f"{kind} {i}")
    axes.flat[0].legend()
    fig.tight_layout()
    return fig
