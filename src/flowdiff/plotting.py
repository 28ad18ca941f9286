"""Figures of samples: image grids, 2-D scatter plots, per-feature histograms."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from torch import Tensor  # noqa: E402


def image_grid(images: Tensor, ncols: int | None = None) -> np.ndarray:
    """Tile images ``(B, C, H, W)`` into one array ``(rows*H, cols*W)`` or ``(.., .., 3)``."""
    images = images.detach().float().cpu()
    count, channels, height, width = images.shape
    ncols = ncols or math.ceil(math.sqrt(count))
    nrows = math.ceil(count / ncols)
    grid = np.full((channels, nrows * (height + 1), ncols * (width + 1)), np.nan)
    for i, image in enumerate(images.numpy()):
        top, left = (i // ncols) * (height + 1), (i % ncols) * (width + 1)
        grid[:, top : top + height, left : left + width] = image
    return grid[0] if channels == 1 else np.moveaxis(grid[:3], 0, -1)


def _images(axes, generated: Tensor, real: Tensor, cond: Tensor | None) -> None:
    low = float(min(generated.min(), real.min()))
    high = float(max(generated.max(), real.max()))
    ncols = 10 if cond is not None and cond.dim() == 1 else None
    for ax, data, title in ((axes[0], generated, "generated"), (axes[1], real, "real")):
        ax.imshow(image_grid(data, ncols), cmap="gray", vmin=low, vmax=high)
        ax.set_title(title)
        ax.axis("off")
    if cond is not None and cond.dim() == 1 and len(cond) <= 10:
        axes[0].set_xlabel(" ".join(str(int(c)) for c in cond))


def _scatter(axes, generated: Tensor, real: Tensor) -> None:
    both = np.concatenate([generated.cpu().numpy(), real.cpu().numpy()])
    low, high = np.percentile(both, 0.5, axis=0), np.percentile(both, 99.5, axis=0)
    pad = 0.1 * (high - low)
    for ax, data, title in ((axes[0], generated, "generated"), (axes[1], real, "real")):
        points = data.cpu().numpy()
        ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.5)
        ax.set_xlim(low[0] - pad[0], high[0] + pad[0])
        ax.set_ylim(low[1] - pad[1], high[1] + pad[1])
        ax.set_aspect("equal")
        ax.set_title(title)


def _histograms(fig: Figure, generated: Tensor, real: Tensor, max_features: int = 8) -> None:
    generated = generated.flatten(1).cpu().numpy()
    real = real.flatten(1).cpu().numpy()
    features = min(generated.shape[1], max_features)
    axes = fig.subplots(1, features, squeeze=False)[0]
    for i, ax in enumerate(axes):
        bins = np.histogram_bin_edges(np.concatenate([generated[:, i], real[:, i]]), bins=40)
        ax.hist(real[:, i], bins=bins, alpha=0.5, density=True, label="real")
        ax.hist(generated[:, i], bins=bins, alpha=0.5, density=True, label="generated")
        ax.set_title(f"feature {i}")
    axes[0].legend()


def comparison_figure(generated: Tensor, real: Tensor, cond: Tensor | None = None) -> Figure:
    """Generated samples next to real ones: image grids for ``(B, C, H, W)``, a scatter plot for
    ``(B, 2)``, per-feature histograms otherwise."""
    if generated.dim() == 4:
        fig = plt.figure(figsize=(10, 5.4))
        _images(fig.subplots(1, 2), generated, real, cond)
    elif generated.dim() == 2 and generated.shape[1] == 2:
        fig = plt.figure(figsize=(10, 5))
        _scatter(fig.subplots(1, 2), generated, real)
    else:
        fig = plt.figure(figsize=(16, 3))
        _histograms(fig, generated, real)
    fig.tight_layout()
    return fig


def save_figure(fig: Figure, path) -> None:
    """Write ``fig`` as PNG and release it."""
    fig.savefig(path, dpi=100)
    plt.close(fig)
