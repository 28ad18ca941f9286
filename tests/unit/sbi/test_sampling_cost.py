"""What sampling costs: rows per network call (cache-sized on the CPU) and no draws wasted by
the prior's rejection loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from flowdiff.errors import ConfigError
from flowdiff.sbi import draws
from flowdiff.sbi.prior import rejection_sample


def _calls(draw_sizes: list[int], accept_every: int = 1):
    def draw(m: int, index: torch.Tensor) -> torch.Tensor:
        draw_sizes.append(m)
        return torch.arange(m * len(index), dtype=torch.float32).reshape(m, len(index), 1)

    def accept(theta: torch.Tensor) -> torch.Tensor:
        return theta.flatten() % accept_every == 0

    return draw, accept


def test_rejection_draws_exactly_n_when_every_draw_is_accepted():
    sizes: list[int] = []
    result = rejection_sample(*_calls(sizes), n=1000, batch=3)
    assert sizes == [1000]  # no 10% margin spent before the acceptance is known
    assert result.samples.shape == (1000, 3, 1) and (result.acceptance == 1).all()


def test_rejection_tops_up_what_was_rejected():
    sizes: list[int] = []
    result = rejection_sample(*_calls(sizes, accept_every=2), n=100, batch=1)
    assert sizes[0] == 100 and len(sizes) > 1  # later rounds use the measured acceptance
    assert result.samples.shape == (100, 1, 1) and (result.samples % 2 == 0).all()


def test_rows_per_call_defaults_by_device_and_keeps_a_given_size():
    assert draws.rows_per_call(None, torch.device("cpu")) == draws.CPU_ROWS
    assert draws.rows_per_call(None, torch.device("cuda")) == draws.ACCELERATOR_ROWS
    assert draws.rows_per_call(500, torch.device("cpu")) == 500


@pytest.mark.parametrize("bad", [0, -5, 2.5, True])
def test_a_bad_sampling_batch_size_is_refused(fitted, simulations, bad):
    _, posterior = fitted
    with pytest.raises(ConfigError, match=r"max_sampling_batch_size=.* whole number >= 1"):
        posterior.sample((10,), x=simulations[2][0], max_sampling_batch_size=bad)


def _network_rows(posterior, monkeypatch) -> list[int]:
    rows: list[int] = []
    forward = posterior.model.network.forward

    def counted(x_t, t, cond=None, drop_cond=None):
        rows.append(len(x_t))
        return forward(x_t, t, cond, drop_cond)

    monkeypatch.setattr(posterior.model.network, "forward", counted)
    return rows


def test_draws_go_through_the_network_in_cache_sized_calls(fitted, simulations, monkeypatch):
    _, posterior = fitted
    x_o = torch.as_tensor(np.asarray(simulations[2][:3]))
    rows = _network_rows(posterior, monkeypatch)
    monkeypatch.setattr(draws, "CPU_ROWS", 300)
    drawn = posterior.sample_batched((1000,), x=x_o)
    assert drawn.shape == (1000, 3, 2) and max(rows) <= 300
    assert sum(rows) % 3000 == 0  # every call of the solver saw all 3,000 draws once
    rows.clear()
    posterior.sample_batched((1000,), x=x_o, max_sampling_batch_size=3000)
    assert max(rows) == 3000


class _EchoModel:
    """``sample`` returns each row's condition's first entry: which observation a draw is for."""

    data_shape = (1,)

    def __init__(self):
        self.shared: list[bool] = []

    def sample(self, cond, sampler=None, generator=None):
        self.shared.append(cond.stride(0) == 0)
        return cond[:, :1].clone()


@pytest.mark.parametrize(("m", "one_observation_per_call"), [(1000, True), (100, False)])
def test_each_draw_belongs_to_its_observation_in_either_layout(m, one_observation_per_call):
    x_o = torch.arange(6.0).reshape(3, 2)
    model = _EchoModel()
    drawn = draws._draw(model, None, x_o, m, None, 600)
    assert drawn.shape == (m, 3, 1)
    assert torch.equal(drawn[..., 0], x_o[:, 0].expand(m, 3))
    # many draws: one observation per call, its x one row expanded (the network embeds it once)
    assert all(model.shared) == one_observation_per_call


def test_one_observation_per_call_gives_the_same_posterior(fitted, simulations):
    _, posterior = fitted
    x_o = torch.as_tensor(np.asarray(simulations[2][:2]))
    generator = torch.Generator().manual_seed(0)
    shared = posterior.sample_batched((4000,), x=x_o, generator=generator,
                                      max_sampling_batch_size=4000)  # fmt: skip
    mixed = posterior.sample_batched((4000,), x=x_o, generator=generator,
                                     max_sampling_batch_size=100_000)  # fmt: skip
    torch.testing.assert_close(shared.mean(0), mixed.mean(0), atol=0.1, rtol=0)
    torch.testing.assert_close(shared.std(0), mixed.std(0), atol=0.1, rtol=0)
