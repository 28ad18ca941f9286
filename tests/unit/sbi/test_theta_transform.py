"""PosteriorEstimator(theta_transform="logit"): under a box prior the parameters are learned
through a logit of the box (``data.bounds``), so draws never leave it and none is rejected."""

from __future__ import annotations

import pytest
import torch
from torch.distributions import Independent, LogNormal, MultivariateNormal, Uniform

from flowdiff.errors import ConfigError
from flowdiff.sbi import PosteriorEstimator
from flowdiff.sbi.prior import box_bounds

BOX = Independent(Uniform(torch.tensor([-1.0, 0.0]), torch.tensor([1.0, 2.0])), 1)


def test_box_bounds_of_the_common_priors():
    low, high = box_bounds(BOX, [2])
    assert low.tolist() == [-1.0, 0.0] and high.tolist() == [1.0, 2.0]
    assert box_bounds(Uniform(torch.zeros(2), torch.ones(2)), [2])[1].tolist() == [1.0, 1.0]
    assert box_bounds(MultivariateNormal(torch.zeros(2), torch.eye(2)), [2]) is None
    assert box_bounds(Independent(LogNormal(torch.zeros(2), torch.ones(2)), 1), [2]) is None
    assert box_bounds(None, [2]) is None
    sbi_utils = pytest.importorskip("sbi.utils")
    box = sbi_utils.BoxUniform(torch.tensor([-2.0, -2.0]), torch.tensor([2.0, 3.0]))
    assert box_bounds(box, [2])[1].tolist() == [2.0, 3.0]


@pytest.fixture(scope="module")
def simulations():
    torch.manual_seed(0)
    theta = BOX.sample((400,))
    return theta, theta + 0.3 * torch.randn_like(theta)


def test_draws_under_a_box_prior_stay_inside_with_nothing_rejected(simulations):
    theta, x = simulations
    estimator = PosteriorEstimator(prior=BOX, theta_transform="logit", max_epochs=2, progress=False)
    posterior = estimator.fit(theta, x)
    assert "data.bounds=[[-1.0,0.0],[1.0,2.0]]" in estimator.overrides
    drawn = posterior.sample((2000,), x=torch.tensor([0.98, 1.95]))
    assert float(posterior.acceptance_rate[0]) == 1.0
    assert bool(BOX.support.check(drawn).all())
    log_q = posterior.log_prob(drawn[:5], x=torch.tensor([0.98, 1.95]), method="rk4", steps=4)
    assert torch.isfinite(log_q).all()


def test_by_default_theta_is_learned_as_it_is(simulations):
    theta, x = simulations
    estimator = PosteriorEstimator(prior=BOX, max_epochs=1, progress=False)
    posterior = estimator.fit(theta, x)
    assert not any("data.bounds" in o for o in estimator.overrides)
    assert not posterior.model.normalizer.mask.any()


def test_an_unknown_theta_transform_or_a_logit_without_a_box_is_refused():
    with pytest.raises(ConfigError, match=r"theta_transform='auto'.*'none' or 'logit'"):
        PosteriorEstimator(theta_transform="auto")
    normal = MultivariateNormal(torch.zeros(2), torch.eye(2))
    with pytest.raises(ConfigError, match=r"needs a prior whose support is a box.*Multivariate"):
        PosteriorEstimator(prior=normal, theta_transform="logit")
    with pytest.raises(ConfigError, match="needs a prior whose support is a box"):
        PosteriorEstimator(theta_transform="logit")  # no prior at all
