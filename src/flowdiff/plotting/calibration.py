"""Calibration figures: SBC rank histograms and TARP expected coverage."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure
from scipy import stats


def sbc_figure(
    ranks,
    num_samples: int,
    labels: list[str] | None = None,
    bins: int = 20,
    pvalues=None,
    max_panels: int = 16,
) -> Figure:
    """One histogram of SBC ranks ``(N, D)`` per parameter, with the band a uniform histogram
    stays inside 99% of the time (binomial, per bin)."""
    ranks = np.asarray(ranks)
    count, dim = ranks.shape
    panels = min(dim, max_panels)
    ncols = min(panels, 4)
    nrows = math.ceil(panels / ncols)
    fig = Figure(figsize=(3.2 * ncols, 2.6 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    edges = np.linspace(0, num_samples + 1, bins + 1)
    low, high = stats.binom.interval(0.99, count, 1 / bins)
    for i, ax in enumerate(axes.flat):
        if i >= panels:
            ax.axis("off")
            continue
        ax.axhspan(low, high, color="0.85", label="uniform, 99%")
        ax.axhline(count / bins, color="0.5", linewidth=0.8)
        ax.hist(ranks[:, i], bins=edges, color="tab:blue", alpha=0.8)
        name = labels[i] if labels else f"theta {i}"
        ax.set_title(name if pvalues is None else f"{name} (p = {pvalues[i]:.2g})")
        ax.set_xlabel("rank")
    axes.flat[0].legend(loc="lower center", fontsize="small")
    fig.suptitle(f"SBC ranks: {count} simulations, {num_samples} draws each")
    fig.tight_layout()
    return fig


def coverage_figure(credibility, pvalue: float | None = None) -> Figure:
    """Expected coverage against credibility level (TARP): the diagonal for a calibrated
    posterior, below it for an over-confident one, with the 99% Kolmogorov-Smirnov band."""
    credibility = np.sort(np.asarray(credibility, dtype=np.float64))
    count = len(credibility)
    levels = np.linspace(0, 1, 201)
    coverage = np.searchsorted(credibility, levels, side="left") / count
    band = stats.kstwo.ppf(0.99, count)
    fig = Figure(figsize=(4.5, 4.5))
    ax = fig.subplots()
    ax.fill_between(levels, levels - band, levels + band, color="0.85", label="calibrated, 99%")
    ax.plot([0, 1], [0, 1], color="0.5", linewidth=0.8)
    ax.plot(levels, coverage, color="tab:red", label="estimated posterior")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("credibility level")
    ax.set_ylabel("expected coverage")
    title = f"TARP coverage ({count} simulations)"
    ax.set_title(title if pvalue is None else f"{title}, p = {pvalue:.2g}")
    ax.legend(loc="upper left", fontsize="small")
    fig.tight_layout()
    return fig
