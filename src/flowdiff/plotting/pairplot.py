"""Corner plots: 1-D marginals on the diagonal, 2-D densities below it, several sample sets
overlaid (e.g. posterior draws against reference posterior samples)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")


def _sets(samples, reference) -> dict[str, np.ndarray]:
    named = dict(samples) if isinstance(samples, Mapping) else {"samples": samples}
    if reference is not None:
        named["reference"] = reference
    sets = {}
    for name, values in named.items():
        if hasattr(values, "detach"):  # a torch tensor, maybe on a GPU
            values = values.detach().cpu().numpy()
        values = np.asarray(values, dtype=np.float64)
        sets[name] = values.reshape(len(values), -1)
    dims = {values.shape[1] for values in sets.values()}
    if len(dims) != 1:
        shapes = {name: list(values.shape) for name, values in sets.items()}
        raise ValueError(f"pairplot_figure: the sample sets differ in dimension: {shapes}.")
    return sets


def _limits(sets: dict[str, np.ndarray]) -> np.ndarray:
    both = np.concatenate(list(sets.values()))
    low, high = np.percentile(both, 0.5, axis=0), np.percentile(both, 99.5, axis=0)
    pad = 0.05 * np.where(high > low, high - low, 1.0)
    return np.stack([low - pad, high + pad], axis=1)


def _contours(ax, x, y, limits, colour, bins):
    counts, xe, ye = np.histogram2d(x, y, bins=bins, range=limits, density=True)
    if not counts.any():
        return
    levels = np.quantile(counts[counts > 0], [0.5, 0.8, 0.95])
    centres = (xe[:-1] + xe[1:]) / 2, (ye[:-1] + ye[1:]) / 2
    ax.contour(*centres, counts.T, levels=np.unique(levels), colors=colour, linewidths=0.8)


def pairplot_figure(
    samples,
    reference=None,
    labels: list[str] | None = None,
    bins: int = 40,
    max_dims: int = 10,
    points: int = 2000,
) -> Figure:
    """Corner plot of one or several sample sets.

    Args:
        samples: draws ``(N, D)``, or a dict ``{name: (N_k, D)}`` of several sets to overlay.
        reference: optional reference draws ``(M, D)`` (e.g. the exact posterior), overlaid as
            the set ``"reference"``.
        labels: names of the ``D`` dimensions.
        bins: histogram bins per dimension.
        max_dims: only the first ``max_dims`` dimensions are drawn.
        points: the first set's draws scattered (faintly) under the contours.

    Returns:
        A ``D x D`` grid: histograms on the diagonal, density contours below it.
    """
    sets = _sets(samples, reference)
    dim = min(next(iter(sets.values())).shape[1], max_dims)
    limits = _limits(sets)
    labels = list(labels or [f"theta {i}" for i in range(dim)])
    fig = Figure(figsize=(1.9 * dim + 1, 1.9 * dim + 0.5))
    axes = fig.subplots(dim, dim, squeeze=False)
    for i in range(dim):
        for j in range(dim):
            ax = axes[i, j]
            if j > i:
                ax.axis("off")
                continue
            for k, (name, values) in enumerate(sets.items()):
                colour = COLOURS[k % len(COLOURS)]
                if i == j:
                    ax.hist(
                        values[:, i],
                        bins=np.linspace(*limits[i], bins + 1),
                        density=True,
                        histtype="step",
                        color=colour,
                        label=name,
                    )
                    continue
                if k == 0:
                    ax.scatter(
                        values[:points, j],
                        values[:points, i],
                        s=1,
                        alpha=0.15,
                        color=colour,
                        rasterized=True,
                    )
                _contours(ax, values[:, j], values[:, i], limits[[j, i]], colour, bins)
            ax.set_xlim(*limits[j])
            if i != j:
                ax.set_ylim(*limits[i])
            ax.tick_params(labelsize="x-small")
            if i == dim - 1:
                ax.set_xlabel(labels[j])
            if j == 0 and i > 0:
                ax.set_ylabel(labels[i])
            if i == j:
                ax.set_yticks([])
    axes[0, 0].legend(loc="upper left", fontsize="x-small", bbox_to_anchor=(1.05, 1.0))
    fig.tight_layout()
    return fig
