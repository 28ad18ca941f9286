"""``mean_flow_posterior``: a MeanFlow student of a fitted posterior, through the same trainer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from flowdiff.distillation import TeacherVelocity, mean_flow_posterior
from flowdiff.errors import ConfigError, DataError
from flowdiff.paths import MeanFlowPath
from flowdiff.sbi import Posterior, PosteriorEstimator
from flowdiff.sbi.tasks.linear_gaussian import LinearGaussian


def fit(**options):
    simulator = LinearGaussian.random(dim_theta=2, dim_x=3, seed=0)
    theta, x = simulator.simulate(400, np.random.default_rng(0))
    options = dict(max_epochs=2, hidden=32, depth=1, batch_size=64, progress=False, **options)
    estimator = PosteriorEstimator(**options)
    return estimator.fit(theta.astype(np.float32), x.astype(np.float32))


@pytest.fixture(scope="module")
def posterior():
    return fit(overrides=["trainer=cpu"])


def test_the_student_draws_in_one_and_two_jumps(posterior):
    before = {k: v.clone() for k, v in posterior.model.network.state_dict().items()}
    fast = posterior.mean_flow(max_epochs=1)
    assert isinstance(fast, Posterior) and isinstance(fast.model.path, MeanFlowPath)
    assert fast.model.path.teacher is None  # sampling needs no teacher
    draws = fast.sample((7,), x=torch.zeros(2, 3))
    assert draws.shape == (7, 2, 2) and torch.isfinite(draws).all()
    assert fast.model.generate(cond=torch.zeros(5, 3)).nfe == 1
    assert fast.sample((4,), x=torch.zeros(1, 3), steps=2).shape == (4, 2)
    assert fast.reflow_cost["train_seconds"] > 0
    for key, value in posterior.model.network.state_dict().items():
        torch.testing.assert_close(value, before[key])  # the teacher is left as it was


def test_a_loaded_posterior_or_a_curved_teacher_is_refused(posterior):
    with pytest.raises(DataError, match=r"mean_flow_posterior.*no run config"):
        mean_flow_posterior(Posterior(posterior.model))
    curved = fit(overrides=["trainer=cpu", "model.path.scheduler=cosine"])
    with pytest.raises(ConfigError, match="teacher must be a flow-matching model with"):
        mean_flow_posterior(curved)
    with pytest.raises(ValueError, match="steps=0 must be an integer >= 1"):
        mean_flow_posterior(posterior, steps=0)


def test_a_teacher_velocity_without_a_checkpoint_names_the_key():
    with pytest.raises(ConfigError, match=r"mean_flow needs .* experiment=mean_flow"):
        TeacherVelocity(None)
