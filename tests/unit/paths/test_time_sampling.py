"""FlowMatchingPath's training times: density p(t) ~ t**t_power, or logit-normal."""

from __future__ import annotations

import pytest
import torch

from flowdiff.paths import FlowMatchingPath


@pytest.mark.parametrize("power", [0.0, 1.0, 3.0])
def test_time_density_moments(power):
    """For p(t) ~ t**k on [0, 1]: E[t] = (k + 1) / (k + 2), E[t^2] = (k + 1) / (k + 3)."""
    torch.manual_seed(0)
    t = FlowMatchingPath(t_power=power).sample(torch.zeros(200_000, 1)).t.double()
    k = power
    assert abs(t.mean() - (k + 1) / (k + 2)) < 3e-3
    assert abs((t**2).mean() - (k + 1) / (k + 3)) < 3e-3
    assert t.min() >= 0.0 and t.max() <= 1.0


def test_uniform_default_draws_the_same_times_as_before():
    torch.manual_seed(0)
    t = FlowMatchingPath(t_max=0.9).sample(torch.zeros(8, 2)).t
    torch.manual_seed(0)
    torch.randn(8, 2)  # x_0 is drawn first
    torch.testing.assert_close(t, torch.rand(8) * 0.9)


def test_time_power_is_checked():
    with pytest.raises(ValueError, match="t_power"):
        FlowMatchingPath(t_power=-1.0)


def test_logit_normal_times_are_the_sigmoid_of_a_standard_normal():
    """t = t_max * sigmoid(n), n ~ N(0, 1): the logit of t / t_max is standard normal (mean 0,
    std 1, no mass at the ends), where a uniform t's logit has std pi / sqrt(3) = 1.81."""
    torch.manual_seed(0)
    path = FlowMatchingPath(time_sampling="logit_normal", t_max=0.9)
    t = path.sample(torch.zeros(200_000, 1)).t.double()
    logit = torch.logit(t / 0.9)
    assert abs(logit.mean()) < 0.01 and abs(logit.std() - 1.0) < 0.01
    assert t.min() > 0.0 and t.max() < 0.9


def test_time_sampling_is_checked():
    with pytest.raises(ValueError, match="time_sampling='lognormal'; choose one of uniform"):
        FlowMatchingPath(time_sampling="lognormal")
    with pytest.raises(ValueError, match=r"t_power=1\.0 shapes uniform times only"):
        FlowMatchingPath(time_sampling="logit_normal", t_power=1.0)
