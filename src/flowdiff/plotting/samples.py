"""Figures of samples: image grids, 2-D scatter plots, per-feature histograms."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.image
import numpy as np
from matplotlib.figure import Figure
from torch import Tensor

from flowdiff.checkpoints.atomic_io import atomic_write


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


#: Images shown in one grid: beyond about 10 x 10, an 8 x 8 digit is a few pixels on screen.
MAX_GRID_IMAGES = 100


def _panels(generated: Tensor, real: Tensor | None) -> list[tuple[Tensor, str]]:
    return [(generated, "generated")] + ([] if real is None else [(real, "real")])


def grid_columns(count: int, labelled: bool) -> int:
    """Columns of a grid of ``count`` images: 10 for class labels (they cycle 0..9, so each
    column is one class) when that stays about square, else ``ceil(sqrt(count))``."""
    square = math.ceil(math.sqrt(count))
    return 10 if labelled and 5 <= square <= 20 else square


def _images(fig: Figure, generated: Tensor, real: Tensor | None, cond: Tensor | None) -> None:
    panels = _panels(generated, real)
    reference = generated if real is None else real  # shown in the real data's grey range
    low, high = float(reference.min()), float(reference.max())
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (data, title) in zip(axes, panels, strict=True):
        shown = data[:MAX_GRID_IMAGES]
        ncols = grid_columns(len(shown), cond is not None and cond.dim() == 1)
        ax.imshow(image_grid(shown, ncols), cmap="gray", vmin=low, vmax=high)
        ax.set_title(
            title if len(shown) == len(data) else f"{title} (first {len(shown)} of {len(data)})"
        )
        ax.axis("off")


def _scatter(fig: Figure, generated: Tensor, real: Tensor | None) -> None:
    panels = _panels(generated, real)
    both = np.concatenate([data.cpu().numpy() for data, _ in panels])
    low, high = np.percentile(both, 0.5, axis=0), np.percentile(both, 99.5, axis=0)
    # one point (or all equal along an axis) still gets a visible window, without matplotlib's
    # "identical low and high xlims" warning
    pad = np.where(high > low, 0.1 * (high - low), 0.5 * np.maximum(np.abs(high), 1.0))
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (data, title) in zip(axes, panels, strict=True):
        points = data.cpu().numpy()
        ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.5)
        ax.set_xlim(low[0] - pad[0], high[0] + pad[0])
        ax.set_ylim(low[1] - pad[1], high[1] + pad[1])
        ax.set_aspect("equal")
        ax.set_title(title)


def _histograms(fig: Figure, generated: Tensor, real: Tensor | None, max_features: int = 8):
    panels = [(data.flatten(1).cpu().numpy(), title) for data, title in _panels(generated, real)]
    features = min(panels[0][0].shape[1], max_features)
    axes = fig.subplots(1, features, squeeze=False)[0]
    for i, ax in enumerate(axes):
        bins = np.histogram_bin_edges(np.concatenate([data[:, i] for data, _ in panels]), bins=40)
        for data, title in panels:
            ax.hist(data[:, i], bins=bins, alpha=0.5, density=True, label=title)
        ax.set_title(f"feature {i}")
    axes[0].legend()


def comparison_figure(
    generated: Tensor, real: Tensor | None = None, cond: Tensor | None = None
) -> Figure:
    """Generated samples, next to real ones when given: image grids for ``(B, C, H, W)`` (the
    first :data:`MAX_GRID_IMAGES`, about square), a scatter plot for ``(B, 2)``, per-feature
    histograms otherwise."""
    width = 5 if real is None else 10
    if generated.dim() == 4:
        fig = Figure(figsize=(width, 5.4))
        _images(fig, generated, real, cond)
    elif generated.dim() == 2 and generated.shape[1] == 2:
        fig = Figure(figsize=(width, 5))
        _scatter(fig, generated, real)
    else:
        fig = Figure(figsize=(16, 3))
        _histograms(fig, generated, real)
    fig.tight_layout()
    return fig


def save_figure(fig: Figure, path: Path | str) -> None:
    """Write ``fig`` as PNG (figures are built without pyplot: nothing global holds them),
    atomically: a failure leaves the previous file or none."""
    suffix = Path(path).suffix.lstrip(".") or "png"
    atomic_write(path, lambda file: fig.savefig(file, dpi=100, format=suffix), "figure")


def save_images(images: Tensor, folder: Path, limit: int = 1000) -> None:
    """One PNG per image of ``images`` ``(B, C, H, W)`` as ``folder/000000.png`` ..., all in the
    batch's common grey range (at most ``limit`` images)."""
    folder.mkdir(parents=True, exist_ok=True)
    data = images.detach().float().cpu().numpy()[:limit]
    low, high = float(data.min()), float(data.max())
    for i, image in enumerate(data):
        pixels = image[0] if image.shape[0] == 1 else np.moveaxis(image[:3], 0, -1)
        if pixels.ndim == 3:  # colour: scale to [0, 1] as imsave expects
            pixels = (pixels - low) / max(high - low, 1e-12)
        atomic_write(
            folder / f"{i:06d}.png",
            lambda file, p=pixels: matplotlib.image.imsave(
                file, p, cmap="gray", vmin=low, vmax=high, format="png"
            ),
            "image",
        )
