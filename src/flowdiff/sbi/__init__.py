"""Simulation-based inference: posteriors ``q(theta | x)`` fitted to simulations in memory,
and the calibration checks to run before trusting them.

    from flowdiff.sbi import PosteriorEstimator
    posterior = PosteriorEstimator().fit(theta, x)
    samples = posterior.sample((10_000,), x=x_o)
"""

from flowdiff.sbi.diagnostics import (
    Calibration,
    calibration,
    calibration_from_samples,
    posterior_c2st,
)
from flowdiff.sbi.estimator import PosteriorEstimator
from flowdiff.sbi.posterior import Posterior

__all__ = [
    "Calibration",
    "Posterior",
    "PosteriorEstimator",
    "calibration",
    "calibration_from_samples",
    "posterior_c2st",
]
