"""One tiny posterior fitted once for the module's tests (seconds on a CPU)."""

from __future__ import annotations

import numpy as np
import pytest

from flowdiff.sbi import PosteriorEstimator
from flowdiff.sbi.tasks.linear_gaussian import LinearGaussian

#: Small enough to fit in seconds; the API's defaults otherwise.
TINY = dict(max_epochs=2, hidden=32, depth=1, batch_size=64, progress=False, trainer="cpu")


@pytest.fixture(scope="session")
def simulations():
    simulator = LinearGaussian.random(dim_theta=2, dim_x=3, seed=0)
    theta, x = simulator.simulate(400, np.random.default_rng(0))
    return simulator, theta.astype(np.float32), x.astype(np.float32)


@pytest.fixture(scope="session")
def fitted(simulations):
    _, theta, x = simulations
    options = {k: v for k, v in TINY.items() if k != "trainer"}
    estimator = PosteriorEstimator(overrides=["trainer=cpu"], **options)
    return estimator, estimator.fit(theta, x)
