"""``reflow_posterior``: a one-step student of a fitted posterior, through the same trainer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from flowdiff.distillation import reflow_posterior
from flowdiff.errors import ConfigError, DataError
from flowdiff.sbi import Posterior, PosteriorEstimator
from flowdiff.sbi.tasks.linear_gaussian import LinearGaussian


@pytest.fixture(scope="module")
def posterior():
    simulator = LinearGaussian.random(dim_theta=2, dim_x=3, seed=0)
    theta, x = simulator.simulate(400, np.random.default_rng(0))
    options = dict(max_epochs=2, hidden=32, depth=1, batch_size=64, progress=False)
    estimator = PosteriorEstimator(overrides=["trainer=cpu"], **options)
    return estimator.fit(theta.astype(np.float32), x.astype(np.float32))


def test_the_student_is_a_posterior_that_samples_in_one_call(posterior):
    before = {k: v.clone() for k, v in posterior.model.network.state_dict().items()}
    fast = reflow_posterior(posterior, max_epochs=1)
    assert isinstance(fast, Posterior) and fast.model is not posterior.model
    draws = fast.sample((7,), x=torch.zeros(2, 3))
    assert draws.shape == (7, 2, 2) and torch.isfinite(draws).all()
    out = fast.model.generate(cond=torch.zeros(5, 3))
    assert out.nfe == 1
    assert fast.model.path.hparams["coupling"] == "independent"  # sampling needs no teacher
    for key, value in posterior.model.network.state_dict().items():
        torch.testing.assert_close(value, before[key])  # the teacher is left as it was


def test_two_steps_take_two_calls_through_the_posterior_method(posterior):
    fast = posterior.reflow(steps=2, max_epochs=1)
    assert isinstance(fast, Posterior) and fast.reflow_cost["pairs"] > 0
    assert fast.model.generate(cond=torch.zeros(3, 3)).nfe == 2


def test_a_posterior_without_its_run_is_refused(posterior):
    loaded = Posterior(posterior.model)
    with pytest.raises(DataError, match="no run config or training simulations"):
        reflow_posterior(loaded)


def test_bad_step_and_epoch_counts_are_refused(posterior):
    with pytest.raises(ConfigError, match="max_epochs=0 must be at least 1"):
        reflow_posterior(posterior, max_epochs=0)
    with pytest.raises(ValueError, match="steps=0 must be an integer >= 1"):
        reflow_posterior(posterior, steps=0)
