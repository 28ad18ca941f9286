"""Multi-round inference (truncated-prior proposals) on a linear-Gaussian task whose posterior is
known: at the same simulation budget it lands closer to the exact posterior than one round."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from flowdiff.errors import ConfigError
from flowdiff.sbi import PosteriorEstimator, TruncatedRounds
from flowdiff.sbi.tasks.linear_gaussian import LinearGaussian

SETTINGS = dict(max_epochs=150, patience=15, hidden=64, depth=2, batch_size=64, seed=0)


def narrow_task() -> LinearGaussian:
    """A posterior far narrower than the prior N(0, I): what rounds are for."""
    task = LinearGaussian.random(dim_theta=2, dim_x=3, seed=1)
    task.noise = np.eye(3) * 0.03**2
    return task


def simulator_of(task: LinearGaussian):
    generator = torch.Generator().manual_seed(0)
    A, b = torch.as_tensor(task.A).float(), torch.as_tensor(task.b).float()
    scale = torch.as_tensor(np.sqrt(np.diag(task.noise))).float()

    def simulate(theta: torch.Tensor) -> torch.Tensor:
        noise = torch.randn(len(theta), len(b), generator=generator) * scale
        return theta @ A.T + b + noise

    return simulate


def distance_to_exact(posterior, task, x_o) -> float:
    """Mean error plus the root of the summed covariance error, against the exact posterior."""
    draws = posterior.sample((2000,), x=x_o, generator=torch.Generator().manual_seed(0))
    mean, cov = task.posterior(x_o.double().numpy())
    drawn_mean, drawn_cov = draws.double().mean(0).numpy(), np.cov(draws.double().numpy().T)
    return float(np.linalg.norm(drawn_mean - mean) + np.abs(drawn_cov - cov).sum() ** 0.5)


@pytest.mark.slow
def test_rounds_beat_one_round_at_the_same_budget():
    task = narrow_task()
    prior = torch.distributions.MultivariateNormal(torch.zeros(2), torch.eye(2))
    simulate = simulator_of(task)
    torch.manual_seed(5)
    theta_o = prior.sample()
    x_o = simulate(theta_o[None])[0]
    estimator = PosteriorEstimator(
        prior=prior, progress=False, overrides=["trainer=cpu"], **SETTINGS
    )
    theta = prior.sample((1200,))
    one_round = estimator.fit(theta, simulate(theta))
    options = dict(method="rk4", steps=4)
    rounds = TruncatedRounds(
        simulate, prior, x_o, [400, 400, 400], estimator=estimator, log_prob_options=options
    )
    several = rounds.run()
    assert sum(r.simulations for r in rounds.history) == 1200
    assert rounds.history[-1].prior_mass < 0.5  # the proposal did shrink
    assert distance_to_exact(several, task, x_o) < distance_to_exact(one_round, task, x_o)


def test_rounds_refuse_bad_budgets_and_simulators():
    prior = torch.distributions.MultivariateNormal(torch.zeros(2), torch.eye(2))
    with pytest.raises(ConfigError, match=r"simulations=.*one per round"):
        TruncatedRounds(lambda t: t, prior, torch.zeros(2), simulations=1000)
    with pytest.raises(ConfigError, match=r"simulator=.*callable"):
        TruncatedRounds("sim", prior, torch.zeros(2), simulations=[10])
    with pytest.raises(ConfigError, match="quantile"):
        TruncatedRounds(lambda t: t, prior, torch.zeros(2), [10], quantile=2)
