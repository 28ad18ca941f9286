"""SBC and TARP coverage: a calibrated (exact) linear-Gaussian posterior passes, one made
over-confident fails; the rank and credibility statistics on analytic cases."""

from __future__ import annotations

import numpy as np
import pytest

from flowdiff.metrics.calibration import (
    expected_coverage,
    rank_pvalues,
    sbc_ranks,
    tarp_credibility,
)
from flowdiff.sbi import calibration, calibration_from_samples
from flowdiff.sbi.tasks.linear_gaussian import LinearGaussian
from tests.unit.sbi.exact import ExactPosterior


@pytest.fixture(scope="module")
def task():
    simulator = LinearGaussian.random(dim_theta=3, dim_x=4, seed=0)
    theta, x = simulator.simulate(500, np.random.default_rng(1))
    return simulator, theta, x


def test_exact_posterior_passes(task):
    simulator, theta, x = task
    report = calibration(ExactPosterior(simulator), theta, x, num_samples=100, seed=2)
    assert report.sbc_passed and report.coverage_passed, report.metrics()
    assert report.metrics()["coverage_max_gap"] < 0.08


@pytest.mark.parametrize("shrink", [0.5, 0.7])
def test_over_confident_posterior_fails(task, shrink):
    simulator, theta, x = task
    report = calibration(ExactPosterior(simulator, shrink), theta, x, num_samples=100, seed=2)
    assert not report.sbc_passed and not report.coverage_passed, report.metrics()


def test_under_confident_posterior_fails_sbc(task):
    simulator, theta, x = task
    report = calibration(ExactPosterior(simulator, 1.6), theta, x, num_samples=100, seed=2)
    assert not report.sbc_passed


def test_ranks_count_draws_below_the_truth():
    theta = np.array([[0.0, 1.0]])
    samples = np.array([[[-1.0, 2.0]], [[1.0, 0.5]], [[-2.0, 0.0]]])  # (S=3, N=1, D=2)
    assert sbc_ranks(theta, samples).tolist() == [[2, 2]]


def test_uniform_ranks_have_large_pvalues_and_piled_ranks_small_ones():
    rng = np.random.default_rng(0)
    uniform = rng.integers(0, 101, size=(1000, 2))
    piled = np.where(rng.uniform(size=(1000, 2)) < 0.5, 0, 100)
    assert rank_pvalues(uniform, 100).min() > 0.01
    assert rank_pvalues(piled, 100).max() < 1e-6


def test_credibility_is_a_share_of_draws_and_coverage_its_cdf():
    rng = np.random.default_rng(0)
    theta = rng.normal(size=(200, 2))
    far = theta[None] + 100.0  # no draw is ever closer to the reference than the truth
    credibility = tarp_credibility(theta, np.repeat(far, 10, axis=0))
    assert credibility.shape == (200,) and ((credibility >= 0) & (credibility < 1 / 11)).all()
    assert expected_coverage([0.1, 0.5, 0.9], [0.0, 0.5, 1.0]).tolist() == [0.0, 1 / 3, 1.0]


def test_shapes_must_agree():
    with pytest.raises(ValueError, match="samples have shape"):
        calibration_from_samples(np.zeros((5, 2)), np.zeros((10, 4, 2)))


def test_figures_and_metrics(task):
    simulator, theta, x = task
    report = calibration(ExactPosterior(simulator), theta[:50], x[:50], num_samples=20)
    assert set(report.metrics()) >= {"sbc_min_p", "sbc_pass", "coverage_p", "coverage_pass"}
    assert len(report.sbc_figure().axes) >= 3
    assert report.coverage_figure().axes
