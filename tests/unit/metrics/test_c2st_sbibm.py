"""sbibm's C2ST (``c2st_sbibm``) and the pixel-level rounding used before the full digits C2ST."""

from __future__ import annotations

import numpy as np
import pytest

from flowdiff.metrics import c2st_sbibm, snap_to_levels


def test_c2st_sbibm_is_chance_for_alike_and_one_for_disjoint_samples():
    rng = np.random.default_rng(0)
    x, fresh = rng.normal(size=(600, 2)), rng.normal(size=(600, 2))
    assert c2st_sbibm(x, fresh) == pytest.approx(0.5, abs=0.06)
    assert c2st_sbibm(x, x + 5.0) > 0.98


def test_c2st_sbibm_z_scores_with_the_reference_alone():
    """Both samples are scaled by the reference's statistics, so rescaling both together
    changes nothing, and a constant reference dimension (std 0) does not give NaN."""
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(300, 2)), rng.normal(0.3, 1.0, size=(300, 2))
    assert c2st_sbibm(x * 100.0 + 7.0, y * 100.0 + 7.0) == pytest.approx(c2st_sbibm(x, y), abs=0.01)
    constant = np.hstack([x, np.zeros((300, 1))])
    shifted = np.hstack([y, np.zeros((300, 1))])
    assert np.isfinite(c2st_sbibm(constant, shifted))


def test_snap_to_levels_rounds_to_the_values_real_data_take():
    real = np.array([[0.0, 4.0], [16.0, 8.0]])
    x = np.array([[-0.7, 5.9], [30.0, 1.9]])
    assert np.array_equal(snap_to_levels(x, real), [[0.0, 4.0], [16.0, 0.0]])
    continuous = np.random.default_rng(0).normal(size=(300, 1))
    assert np.array_equal(snap_to_levels(x, continuous), x)  # too many levels: unchanged
