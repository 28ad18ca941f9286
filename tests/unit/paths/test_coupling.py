"""Couplings of noise and data: minibatch OT is a permutation of the noise that lowers the
transport cost, sorts in 1-D, stays within each class, and the path still ends at the data."""

from __future__ import annotations

import pytest
import torch

from flowdiff.paths import FlowMatchingPath
from flowdiff.paths.coupling import independent, minibatch_ot


def cost(x_0, x_1):
    return (x_0 - x_1).flatten(1).pow(2).sum(1).mean()


def test_ot_in_one_dimension_pairs_by_rank():
    gen = torch.Generator().manual_seed(0)
    x_0, x_1 = torch.randn(64, 1, generator=gen), torch.randn(64, 1, generator=gen) * 3 + 1
    paired = minibatch_ot(x_0, x_1)
    assert torch.equal(paired[x_1[:, 0].argsort()], x_0[x_0[:, 0].argsort()])  # monotone map


def test_ot_permutes_the_noise_and_lowers_the_cost():
    gen = torch.Generator().manual_seed(1)
    x_0, x_1 = torch.randn(128, 1, 8, 8, generator=gen), torch.rand(128, 1, 8, 8, generator=gen)
    paired = minibatch_ot(x_0, x_1)
    assert torch.equal(paired.flatten(1).sum(1).sort().values, x_0.flatten(1).sum(1).sort().values)
    assert cost(paired, x_1) < 0.9 * cost(independent(x_0, x_1), x_1)


def test_ot_pairs_within_each_class():
    gen = torch.Generator().manual_seed(2)
    x_0, x_1 = torch.randn(60, 3, generator=gen), torch.randn(60, 3, generator=gen)
    labels = torch.arange(60) % 3
    paired = minibatch_ot(x_0, x_1, labels)
    for label in range(3):
        mine = labels == label
        assert torch.equal(paired[mine].sum(1).sort().values, x_0[mine].sum(1).sort().values)
        assert cost(paired[mine], x_1[mine]) <= cost(x_0[mine], x_1[mine])


def test_ot_refuses_float_conditions():
    x = torch.randn(8, 2)
    with pytest.raises(ValueError, match="coupling='independent'"):
        minibatch_ot(x, x, torch.randn(8, 4))


def test_ot_path_still_joins_noise_to_the_data():
    path = FlowMatchingPath(coupling="ot")
    x_1 = torch.randn(32, 4, dtype=torch.float64)
    torch.manual_seed(3)
    drawn = path.sample(x_1, torch.arange(32) % 4)
    t = drawn.t[:, None]
    assert torch.allclose(drawn.x_t + (1 - t) * drawn.target, x_1)  # condot: dx_t = x_1 - x_0


def test_unknown_coupling_is_named():
    with pytest.raises(ValueError, match=r"coupling='sinkhorn'.*independent"):
        FlowMatchingPath(coupling="sinkhorn")
