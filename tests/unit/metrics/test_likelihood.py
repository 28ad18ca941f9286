"""The ODE likelihood against closed forms: a Gaussian whose flow-matching velocity field is
known exactly, so the model's log-density must equal the Gaussian's."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from flowdiff.metrics.likelihood import bits_per_dim, log_likelihood
from flowdiff.model.module import GenerativeModule
from flowdiff.networks import MLP
from flowdiff.paths import DiffusionPath, FlowMatchingPath
from flowdiff.samplers import DiffusersSampler, ODESampler

MU = torch.tensor([1.0, -0.5], dtype=torch.float64)
STD = torch.tensor([0.5, 2.0], dtype=torch.float64)


class GaussianVelocity(nn.Module):
    """The exact marginal velocity of the condot path from N(0, I) to N(MU, diag(STD²)):
    ``x_t = m_t + sqrt(v_t) eps`` with ``m_t = t mu``, ``v_t = t² s² + (1 - t)²``, so
    ``u_t(x) = mu + v_t' / (2 v_t) (x - m_t)``."""

    def forward(self, x_t, t, cond=None):
        t = t[:, None].to(x_t.dtype)
        mu, var_1 = MU.to(x_t), STD.to(x_t) ** 2
        var_t = t**2 * var_1 + (1 - t) ** 2
        d_var_t = 2 * t * var_1 - 2 * (1 - t)
        return mu + d_var_t / (2 * var_t) * (x_t - t * mu)


def gaussian_model(shift, scale) -> GenerativeModule:
    model = GenerativeModule(GaussianVelocity(), FlowMatchingPath(), ODESampler(), data_shape=[2])
    model.normalizer.shift.copy_(shift)
    model.normalizer.scale.copy_(scale)
    return model.double().eval()


def closed_form(x, shift, scale):
    """log N(z; MU, diag(STD²)) - sum(log scale) with z = (x - shift) / scale."""
    z = (x - shift) / scale
    normal = torch.distributions.Normal(MU, STD)
    return normal.log_prob(z).sum(1) - torch.log(scale).sum()


@pytest.mark.parametrize(
    ("exact", "dtype", "tolerance"),
    # flow_matching 1.0.10 draws Hutchinson's probes in float32 whatever the data's dtype, so
    # that estimator is checked in float32.
    [(True, torch.float64, 1e-6), (False, torch.float32, 2e-4)],
)
def test_log_likelihood_of_an_analytic_gaussian_flow(exact, dtype, tolerance):
    shift = torch.tensor([3.0, -1.0], dtype=torch.float64)
    scale = torch.tensor([2.0, 0.5], dtype=torch.float64)
    model = gaussian_model(shift, scale).to(dtype)
    noise = torch.randn(200, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    x = shift + scale * (MU + STD * noise)
    log_p = log_likelihood(model, x.to(dtype), exact=exact, atol=1e-9, rtol=1e-9)
    assert log_p.shape == (200,)
    expected = closed_form(x, shift, scale).to(dtype)
    torch.testing.assert_close(log_p, expected, atol=tolerance, rtol=0)


def test_fixed_step_method_converges_to_the_closed_form():
    shift, scale = torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
    model = gaussian_model(shift, scale)
    noise = torch.randn(50, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    x = MU + STD * noise
    errors = [
        (log_likelihood(model, x, method="rk4", steps=n) - closed_form(x, shift, scale)).abs().max()
        for n in (4, 32)
    ]
    assert errors[1] < 1e-5 < errors[0]


def test_hutchinson_on_images_is_unbiased_in_mean():
    torch.manual_seed(0)
    network = MLP(data_shape=[1, 4, 4], hidden=32, depth=1)
    model = GenerativeModule(network, FlowMatchingPath(), ODESampler(), data_shape=[1, 4, 4])
    model = model.eval()
    x = torch.randn(400, 1, 4, 4)
    exact = log_likelihood(model, x[:50], exact=True, method="midpoint", steps=8)
    estimates = log_likelihood(model, x[:50].repeat(8, 1, 1, 1), method="midpoint", steps=8)
    assert estimates.view(8, 50).mean(0).sub(exact).abs().mean() < 0.05 * exact.abs().mean()
    assert bits_per_dim(exact, 16).mean() == pytest.approx(-exact.mean() / (16 * math.log(2)))


def test_diffusion_models_have_no_ode_likelihood():
    model = GenerativeModule(
        MLP(data_shape=[2], hidden=8, depth=1), DiffusionPath(), DiffusersSampler(), [2]
    )
    with pytest.raises(ValueError, match=r"flow-matching model.*nll=false"):
        log_likelihood(model, torch.zeros(3, 2))


def test_progress_bar_in_a_terminal_and_the_same_numbers(monkeypatch):
    import io

    from rich.console import Console

    from flowdiff.metrics import likelihood

    shift, scale = torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
    model = gaussian_model(shift, scale)
    x = MU + STD * torch.randn(
        30, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(2)
    )
    quiet = log_likelihood(model, x, method="rk4", steps=4, batch_size=20)  # not a terminal

    shown = io.StringIO()
    terminal = Console(file=shown, force_terminal=True, width=100)
    monkeypatch.setattr(likelihood, "progress_console", lambda: terminal)
    with_bar = log_likelihood(model, x, method="rk4", steps=4, batch_size=20)
    assert "log-likelihood of 30 samples (rk4)" in shown.getvalue()
    assert "100%" in shown.getvalue()
    torch.testing.assert_close(with_bar, quiet, rtol=0, atol=0)
