"""MeanFlowPath and MeanFlowSampler against a closed form: Gaussian data on straight paths.

Data ``x_1 ~ N(mu, sigma^2)``, noise ``x_0 ~ N(0, 1)``, ``x_t = (1 - t) x_0 + t x_1``: the
marginal at ``t`` is ``N(t mu, std_t^2)``, ``std_t^2 = (1 - t)^2 + t^2 sigma^2``, and the flow
maps ``x_t`` to ``x_s = s mu + (std_s / std_t)(x_t - t mu)``. So the exact average velocity
``u = (x_s - x_t) / (s - t)`` is known, and so is the exact velocity (``s -> t``).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from flowdiff.components import Component
from flowdiff.errors import ConfigError
from flowdiff.networks.embeddings import SinusoidalTimeEmbedding
from flowdiff.paths import FlowMatchingPath, MeanFlowPath
from flowdiff.samplers import MeanFlowSampler, ODESampler, check_compatible

MU, SIGMA = 1.5, 0.5


def std(t):
    return ((1 - t) ** 2 + (t * SIGMA) ** 2).sqrt()


def d_std(t):
    return (-(1 - t) + t * SIGMA**2) / std(t)


def velocity(x, t):
    """The exact marginal velocity at ``x`` ``(B, 1)``, ``t`` ``(B,)``."""
    t = t[:, None]
    return MU + d_std(t) / std(t) * (x - t * MU)


class ExactAverage(nn.Module):
    """The exact ``u(x_t, t, s)``; ``instantaneous=True`` ignores ``s`` (a plain flow)."""

    def __init__(self, instantaneous=False):
        super().__init__()
        self.instantaneous, self.calls = instantaneous, 0

    def forward(self, x, pair, cond=None):
        self.calls += 1
        t, s = pair[:, :1], pair[:, 1:]
        exact_v = velocity(x, pair[:, 0])
        if self.instantaneous:
            return exact_v
        u = (s * MU + std(s) / std(t) * (x - t * MU) - x) / (s - t)
        return torch.where((s - t).abs() < 1e-12, exact_v, u)


class ExactTeacher(Component):
    def __call__(self, x_t, t, cond=None):
        return velocity(x_t, t)


def drawn_loss(network, interval_ratio=1.0):
    torch.manual_seed(0)
    path = MeanFlowPath(interval_ratio=interval_ratio, adaptive_power=0, teacher=ExactTeacher())
    path.bind_network(network)
    x_1 = MU + SIGMA * torch.randn(512, 1, dtype=torch.float64)
    drawn = path.sample(x_1)
    output = network(drawn.x_t, drawn.t)
    return (output - drawn.target).pow(2).mean().item(), drawn


def test_the_exact_average_velocity_has_zero_loss():
    loss, drawn = drawn_loss(ExactAverage())
    assert drawn.t.shape == (512, 2) and (drawn.t[:, 1] >= drawn.t[:, 0]).all()
    assert loss < 1e-10


def test_the_instantaneous_velocity_is_not_a_mean_flow():
    loss, _ = drawn_loss(ExactAverage(instantaneous=True))
    assert loss > 1e-3  # the target sees that u must change with s


def test_one_jump_of_the_exact_mean_flow_is_the_flow_map():
    network = ExactAverage()
    x_0 = torch.randn(1000, 1, dtype=torch.float64)
    model = lambda x, pair: network(x, pair.to(x.dtype))  # noqa: E731
    for steps in (1, 2):
        network.calls = 0
        out = MeanFlowSampler(steps=steps).sample(model, MeanFlowPath(), x_0)
        assert out.nfe == steps and network.calls == steps
        torch.testing.assert_close(out.x, MU + SIGMA * x_0)


def test_a_pair_of_equal_times_embeds_as_the_single_time():
    embed = SinusoidalTimeEmbedding(16).double()
    t = torch.rand(5, dtype=torch.float64)
    torch.testing.assert_close(embed(torch.stack([t, t], 1)), embed(t))
    assert not torch.allclose(embed(torch.stack([t, t + 0.3], 1)), embed(t))


def test_bad_options_are_refused():
    with pytest.raises(ConfigError, match="interval_ratio=2 must lie in"):
        MeanFlowPath(interval_ratio=2)
    with pytest.raises(ConfigError, match="adaptive_power=-1 must be >= 0"):
        MeanFlowPath(adaptive_power=-1)
    with pytest.raises(ConfigError, match="is not a callable flowdiff Component"):
        MeanFlowPath(teacher=lambda x, t, c: x)
    with pytest.raises(ConfigError, match="has no network to build its target"):
        MeanFlowPath().sample(torch.zeros(4, 1))
    with pytest.raises(ValueError, match="steps=0 must be an integer >= 1"):
        MeanFlowSampler(steps=0)
    with pytest.raises(ValueError, match="MeanFlowSampler samples mean_flow paths"):
        check_compatible(MeanFlowSampler(), FlowMatchingPath())
    with pytest.raises(ValueError, match="ODESampler samples flow_matching paths"):
        check_compatible(ODESampler(), MeanFlowPath())


def test_interval_lengths_are_uniform_so_the_whole_interval_is_trained():
    torch.manual_seed(0)
    t, s = MeanFlowPath(interval_ratio=1.0).times(20_000, torch.zeros(1))
    assert (t >= 0).all() and (s <= 1 + 1e-6).all() and (s >= t).all()
    assert 0.08 < ((s - t) > 0.9).float().mean() < 0.12  # sorted pairs would give 0.01
    t, s = MeanFlowPath(interval_ratio=0.25).times(20_000, torch.zeros(1))
    assert 0.72 < (s == t).float().mean() < 0.78
