"""Figures, all returned as matplotlib ``Figure`` objects and written as PNG by
:func:`save_figure`: sample grids and scatter plots, real-vs-generated histograms, 2-D densities
and trajectories, corner plots, SBC and coverage figures, loss/LR curves, and quality against
NFE."""

from flowdiff.plotting.calibration import coverage_figure, sbc_figure
from flowdiff.plotting.curves import curves_figure, metrics_series, read_metrics, read_scalars
from flowdiff.plotting.density import density_figure, trajectory_figure
from flowdiff.plotting.histograms import histogram_figure
from flowdiff.plotting.pairplot import pairplot_figure
from flowdiff.plotting.samples import comparison_figure, image_grid, save_figure, save_images
from flowdiff.plotting.sweep import sweep_figure

__all__ = [
    "comparison_figure",
    "coverage_figure",
    "curves_figure",
    "density_figure",
    "histogram_figure",
    "image_grid",
    "metrics_series",
    "pairplot_figure",
    "read_metrics",
    "read_scalars",
    "save_figure",
    "save_images",
    "sbc_figure",
    "sweep_figure",
    "trajectory_figure",
]
