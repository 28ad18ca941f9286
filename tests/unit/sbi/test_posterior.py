"""PosteriorEstimator / Posterior: shapes of draws and densities, reproducibility, the prior's
rejection, and one clear message for each kind of bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from flowdiff.errors import ConfigError, DataError
from flowdiff.sbi import PosteriorEstimator


def test_fit_uses_the_data_arrays_config_and_lean_callbacks(fitted):
    estimator, posterior = fitted
    assert "data=arrays" in estimator.overrides
    assert "callbacks.early_stopping.verbose=false" in estimator.overrides
    assert "model.network.hidden=32" in estimator.overrides
    assert posterior.theta_shape == (2,) and posterior.x_shape == (3,)
    assert posterior.config.data.file is None and posterior.global_step > 0


def test_sample_shapes_one_and_many_observations(fitted, simulations):
    _, posterior = fitted
    _, _, x = simulations
    assert posterior.sample((50,), x=x[0]).shape == (50, 2)
    assert posterior.sample((50,), x=x[:4]).shape == (50, 4, 2)
    assert posterior.sample((3, 5), x=x[:4]).shape == (3, 5, 4, 2)


def test_batched_draws_follow_their_own_observation(fitted, simulations):
    _, posterior = fitted
    _, _, x = simulations
    far_apart = torch.as_tensor(x[[0, 1]])
    both = posterior.sample((400,), x=far_apart).mean(0)
    alone = [posterior.sample((400,), x=far_apart[i]).mean(0) for i in range(2)]
    assert torch.allclose(both, torch.stack(alone), atol=0.2)


def test_generator_makes_draws_reproducible(fitted, simulations):
    _, posterior = fitted
    x_o = simulations[2][0]
    first = posterior.sample((20,), x=x_o, generator=torch.Generator().manual_seed(3))
    again = posterior.sample((20,), x=x_o, generator=torch.Generator().manual_seed(3))
    other = posterior.sample((20,), x=x_o, generator=torch.Generator().manual_seed(4))
    assert torch.equal(first, again) and not torch.equal(first, other)


def test_log_prob_shapes_and_a_normalised_density(fitted, simulations):
    _, posterior = fitted
    x = simulations[2]
    theta = posterior.sample((8,), x=x[0])
    assert posterior.log_prob(theta, x=x[0], method="rk4", steps=8).shape == (8,)
    assert posterior.log_prob(theta[0], x=x[0], method="rk4", steps=8).shape == ()
    assert posterior.log_prob(theta, x=x[:8], method="rk4", steps=8).shape == (8,)
    # the density integrates to about one over a grid covering the draws
    draws = posterior.sample((2000,), x=x[0])
    low, high = draws.min(0).values - 1, draws.max(0).values + 1
    axes = [torch.linspace(low[i], high[i], 40) for i in range(2)]
    grid = torch.stack(torch.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 2)
    density = posterior.log_prob(grid, x=x[0], method="rk4", steps=8).exp()
    cell = ((high - low) / 39).prod()
    assert float(density.sum() * cell) == pytest.approx(1.0, abs=0.1)


def test_prior_rejects_draws_outside_its_support(fitted, simulations):
    _, posterior = fitted
    _, theta, x = simulations
    x_o = x[np.abs(theta).max(1) < 0.3][:2]  # posteriors near the middle of the box
    posterior.prior = torch.distributions.Independent(
        torch.distributions.Uniform(-torch.full((2,), 0.6), torch.full((2,), 0.6)), 1
    )
    try:
        drawn = posterior.sample((100,), x=x_o)
        assert drawn.shape == (100, 2, 2) and drawn.abs().max() <= 0.6
        assert posterior.acceptance_rate.shape == (2,) and (posterior.acceptance_rate < 1).all()
        outside = posterior.log_prob(torch.tensor([[5.0, 5.0]]), x=x_o[0], method="euler")
        assert outside.item() == float("-inf")
        posterior.prior = torch.distributions.Independent(
            torch.distributions.Uniform(torch.full((2,), 50.0), torch.full((2,), 51.0)), 1
        )
        with pytest.raises(DataError, match=r"acceptance .* min_acceptance"):
            posterior.sample((100,), x=x_o)
    finally:
        posterior.prior = None


def test_prior_of_another_dimension_is_refused(simulations):
    _, theta, x = simulations
    prior = torch.distributions.MultivariateNormal(torch.zeros(3), torch.eye(3))
    with pytest.raises(
        DataError, match=r"prior draws parameters of shape \[3\].*theta has shape \[2\]"
    ):
        PosteriorEstimator(prior=prior).fit(theta, x)


def test_mismatched_lengths_are_refused(simulations):
    _, theta, x = simulations
    with pytest.raises(DataError, match=r"theta has 400 rows .* but x has 399"):
        PosteriorEstimator().fit(theta, x[:-1])
    with pytest.raises(DataError, match=r"theta has shape \[400\]; give one row per simulation"):
        PosteriorEstimator().fit(theta[:, 0], x)


def test_nonfinite_simulations_are_refused_with_counts_or_dropped(simulations):
    _, theta, x = simulations
    x = x.copy()
    x[3, 0], x[5, 1] = np.nan, np.inf
    with pytest.raises(DataError, match=r"x: 1 NaN and 1 inf values in 2 rows.*nonfinite='drop'"):
        PosteriorEstimator().fit(theta, x)
    with pytest.raises(DataError, match="nonfinite='keep'"):
        PosteriorEstimator().fit(theta, x, nonfinite="keep")


def test_nonfinite_drop_warns_and_trains_on_the_rest(simulations):
    _, theta, x = simulations
    theta = theta.copy()
    theta[0, 0] = np.nan
    estimator = PosteriorEstimator(max_epochs=1, hidden=16, depth=1, progress=False)
    with pytest.warns(UserWarning, match=r"theta: 1 NaN .* dropped"):
        posterior = estimator.fit(theta, x, nonfinite="drop")
    assert len(posterior.simulations[0]) == 399


def test_observation_of_the_wrong_shape_is_refused(fitted):
    _, posterior = fitted
    with pytest.raises(DataError, match=r"x has shape \[4\], but the posterior .* shape \[3\]"):
        posterior.sample((10,), x=torch.zeros(4))
    with pytest.raises(DataError, match=r"x has shape \[2, 5\]"):
        posterior.log_prob(torch.zeros(2), x=torch.zeros(2, 5))
    with pytest.raises(DataError, match=r"theta has shape \[3\], but the posterior"):
        posterior.log_prob(torch.zeros(3), x=torch.zeros(3))
    with pytest.raises(DataError, match=r"x=\.\.\. is required"):
        posterior.sample((10,))


def test_unfitted_estimator_and_unknown_option_are_refused(simulations):
    with pytest.raises(DataError, match=r"not fitted yet; call posterior = estimator\.fit"):
        PosteriorEstimator().sample((10,), x=torch.zeros(3))
    _, theta, x = simulations
    with pytest.raises(ConfigError, match="option hiden=32 is not a setting"):
        PosteriorEstimator(hiden=32).fit(theta, x)


def test_max_time_stops_training_and_is_written_as_lightning_reads_it(simulations):
    from flowdiff.sbi.estimator import wall_time

    assert wall_time(90.2) == "00:00:01:31" and wall_time(90_061) == "01:01:01:01"
    _, theta, x = simulations
    estimator = PosteriorEstimator(
        max_epochs=1000, patience=1000, hidden=16, depth=1, progress=False
    )
    posterior = estimator.fit(theta, x, max_time=1)
    assert "max_time=00:00:00:01" in estimator.overrides and posterior.epoch < 1000
    with pytest.raises(ConfigError, match="max_time=0 must be a positive"):
        estimator.fit(theta, x, max_time=0)
