"""One-file posteriors: weights, config and prior in one file that Posterior.load mirrors; files
written before one-file saving still load and draw the same."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from flowdiff.errors import CheckpointError
from flowdiff.sbi import Posterior

FIXTURE = Path(__file__).parents[2] / "fixtures" / "posterior_v0"


def test_a_posterior_saved_by_the_old_code_loads_and_draws_the_same():
    posterior = Posterior.load(FIXTURE / "posterior.ckpt")
    expected = np.load(FIXTURE / "expected.npz")
    drawn = posterior.sample((5,), x=expected["x_o"], generator=torch.Generator().manual_seed(0))
    assert np.allclose(drawn.numpy(), expected["samples"], atol=1e-5)
    log_q = posterior.log_prob(drawn, x=expected["x_o"])
    assert np.allclose(log_q.numpy(), expected["log_prob"], atol=1e-3)
    assert posterior.config is not None and list(posterior.config.data.shape) == [2]


def test_one_file_holds_weights_config_and_prior(fitted, simulations, tmp_path):
    from sbi.utils import BoxUniform

    _, posterior = fitted
    posterior.prior = BoxUniform(-torch.full((2,), 9.0), torch.full((2,), 9.0))
    try:
        path = posterior.save(tmp_path / "one.ckpt")
    finally:
        posterior.prior = None
    assert [p.name for p in tmp_path.iterdir()] == ["one.ckpt"]
    loaded = Posterior.load(path)
    assert type(loaded.prior).__name__ == "BoxUniform"
    assert torch.equal(loaded.prior.base_dist.high, torch.full((2,), 9.0))
    assert loaded.config.model.network.hidden == 32 and loaded.global_step > 0
    x_o = simulations[2][0]
    first = posterior.sample((20,), x=x_o, generator=torch.Generator().manual_seed(1))
    again = loaded.sample(
        (20,), x=x_o, generator=torch.Generator().manual_seed(1), reject_outside_prior=False
    )
    assert torch.equal(first, again)


def test_torch_priors_are_stored_and_a_custom_one_is_asked_for_at_load(fitted, tmp_path):
    _, posterior = fitted
    mvn = torch.distributions.MultivariateNormal(torch.ones(2), 2 * torch.eye(2))
    posterior.prior = mvn
    try:
        loaded = Posterior.load(posterior.save(tmp_path / "mvn.ckpt"))
        theta = torch.randn(5, 2)
        assert torch.allclose(loaded.prior.log_prob(theta), mvn.log_prob(theta))

        class Custom:
            def sample(self, shape):
                return torch.zeros(*shape, 2)

            def log_prob(self, theta):
                return torch.zeros(len(theta))

        posterior.prior = Custom()
        with pytest.warns(UserWarning, match="cannot be stored.*Posterior.load\\(path, prior"):
            path = posterior.save(tmp_path / "custom.ckpt")
    finally:
        posterior.prior = None
    assert Posterior.load(path).prior is None
    assert isinstance(Posterior.load(path, prior=Custom()).prior, Custom)


def test_a_damaged_or_missing_file_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        Posterior.load(tmp_path / "none.ckpt")
    (tmp_path / "bad.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable"):
        Posterior.load(tmp_path / "bad.ckpt")
