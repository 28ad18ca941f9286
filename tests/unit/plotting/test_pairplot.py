"""Corner plots: a D x D grid with marginals on the diagonal and densities below, several sets
overlaid, and a clear message for sets of different dimensions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from flowdiff.plotting import pairplot_figure


def test_grid_of_marginals_and_densities_with_sets_overlaid():
    rng = np.random.default_rng(0)
    fig = pairplot_figure(
        {"posterior": torch.randn(500, 3), "other": rng.normal(size=(300, 3))},
        reference=rng.normal(size=(400, 3)),
        labels=["a", "b", "c"],
    )
    axes = np.array(fig.axes).reshape(3, 3)
    assert all(not axes[i, j].axison for i in range(3) for j in range(3) if j > i)
    diagonal = axes[1, 1]
    assert len(diagonal.patches) == 3  # one step histogram per set
    legend = [text.get_text() for text in axes[0, 0].get_legend().get_texts()]
    assert legend == ["posterior", "other", "reference"]
    assert axes[2, 0].get_xlabel() == "a" and axes[2, 0].get_ylabel() == "c"
    assert axes[2, 0].collections  # scatter and contour lines below the diagonal


def test_one_set_and_a_cap_on_dimensions():
    fig = pairplot_figure(torch.randn(200, 12), max_dims=4)
    assert len(fig.axes) == 16


def test_sets_of_different_dimensions_are_refused():
    with pytest.raises(ValueError, match="differ in dimension"):
        pairplot_figure(np.zeros((10, 2)), reference=np.zeros((10, 3)))
