"""sbi's posterior protocol both ways: sbi's diagnostics and pairplot on a flowdiff posterior,
flowdiff's calibration and C2ST on an sbi-style posterior (anything with sample(shape, x=))."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from flowdiff.sbi import calibration, posterior_c2st

sbi_diagnostics = pytest.importorskip("sbi.diagnostics")


def test_sample_batched_log_prob_batched_map_and_default_x(fitted, simulations):
    _, posterior = fitted
    x = torch.as_tensor(simulations[2][:3])
    drawn = posterior.sample_batched((4, 5), x=x)
    assert drawn.shape == (4, 5, 3, 2)
    log_q = posterior.log_prob_batched(drawn, x=x, method="rk4", steps=4)
    assert log_q.shape == (4, 5, 3) and torch.isfinite(log_q).all()
    posterior.set_default_x(x[0])
    try:
        assert posterior.sample((7,)).shape == (7, 2)
        assert posterior.log_prob(drawn[0, 0], method="rk4", steps=4).shape == (3,)
        assert posterior.map(num_init_samples=20, steps=4).shape == (1, 2)
    finally:
        posterior.default_x = None
    assert posterior.to("cpu") is posterior and posterior.device.type == "cpu"


def test_one_observation_as_a_batch_of_one_gives_sbis_shape(fitted, simulations):
    """sbi users write ``posterior.sample((n,), x=x_o)`` with ``x_o`` of shape ``(1, D)`` and
    get ``(n, theta_dim)``; ``sample_batched`` keeps the batch axis."""
    _, posterior = fitted
    x = torch.as_tensor(simulations[2][:3])
    assert posterior.sample((6,), x=x[:1]).shape == (6, 2)
    assert posterior.sample((6,), x=x[0]).shape == (6, 2)
    assert posterior.sample((6,), x=x[:2]).shape == (6, 2, 2)
    assert posterior.sample_batched((6,), x=x[:1]).shape == (6, 1, 2)


def test_sbi_run_sbc_check_sbc_run_tarp_check_tarp_on_a_flowdiff_posterior(fitted, simulations):
    _, posterior = fitted
    _, theta, x = simulations
    thetas, xs = torch.as_tensor(theta[-40:]), torch.as_tensor(x[-40:])
    with pytest.warns(UserWarning):  # sbi: "should be on the order of 100s"
        ranks, dap = sbi_diagnostics.run_sbc(
            thetas, xs, posterior, num_posterior_samples=30, show_progress_bar=False
        )
        checks = sbi_diagnostics.check_sbc(ranks, thetas, dap, num_posterior_samples=30)
        ecp, alpha = sbi_diagnostics.run_tarp(
            thetas, xs, posterior, num_posterior_samples=30, show_progress_bar=False
        )
    assert ranks.shape == (40, 2) and dap.shape == (40, 2)
    assert set(checks) >= {"ks_pvals", "c2st_ranks", "c2st_dap"}
    atc, pvalue = sbi_diagnostics.check_tarp(ecp, alpha)
    assert np.isfinite(atc) and 0 <= pvalue <= 1


def test_sbi_pairplot_draws_a_flowdiff_posterior(fitted, simulations):
    from sbi.analysis import pairplot

    _, posterior = fitted
    fig, axes = pairplot(posterior.sample((200,), x=simulations[2][0]))
    assert fig is not None and np.asarray(axes).shape == (2, 2)


class SbiStylePosterior:
    """The shape of an sbi posterior: sample(shape, x=) for one x, sample_batched for many,
    no generator argument."""

    def __init__(self, task):
        self.task = task

    def sample(self, sample_shape, x=None, show_progress_bars=True):
        mean, cov = self.task.posterior(np.asarray(x, dtype=np.float64).reshape(-1))
        draws = np.random.default_rng(0).multivariate_normal(mean, cov, sample_shape[0])
        return torch.as_tensor(draws, dtype=torch.float32)

    def sample_batched(self, sample_shape, x, show_progress_bars=True):
        return torch.stack([self.sample(sample_shape, x=x_i) for x_i in x], dim=1)


def test_flowdiff_calibration_and_c2st_take_an_sbi_posterior(simulations):
    task, theta, x = simulations
    sbi_style = SbiStylePosterior(task)
    report = calibration(sbi_style, theta[:60], x[:60], num_samples=50)
    assert report.ranks.shape == (60, 2) and report.sbc_pvalues.shape == (2,)
    mean, cov = task.posterior(x[0].astype(np.float64))
    reference = np.random.default_rng(1).multivariate_normal(mean, cov, 300)
    assert posterior_c2st(sbi_style, x[0], reference) < 0.65


@pytest.mark.slow  # sbi's NPE trains for a few epochs (about 30 s on a shared CPU)
def test_flowdiff_calibration_and_c2st_take_a_real_sbi_posterior(tmp_path, monkeypatch):
    from sbi.inference import NPE
    from sbi.utils import BoxUniform

    monkeypatch.chdir(tmp_path)  # sbi writes its TensorBoard logs to ./sbi-logs
    torch.manual_seed(0)
    prior = BoxUniform(-2 * torch.ones(2), 2 * torch.ones(2))
    theta = prior.sample((300,))
    x = theta + 0.1 * torch.randn(300, 2)
    inference = NPE(prior, show_progress_bars=False)
    inference.append_simulations(theta, x).train(max_num_epochs=3, show_train_summary=False)
    posterior = inference.build_posterior()
    report = calibration(posterior, theta[:30], x[:30], num_samples=20)
    assert report.ranks.shape == (30, 2) and np.isfinite(report.sbc_pvalues).all()
    reference = theta[0].numpy() + 0.1 * np.random.default_rng(0).normal(size=(100, 2))
    assert 0.4 <= posterior_c2st(posterior, x[0], reference) <= 1.0
