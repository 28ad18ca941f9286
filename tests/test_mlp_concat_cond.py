"""MLP(concat_cond=True): vector conditions also enter the input layer beside x_t."""

from __future__ import annotations

import pytest
import torch

from flowdiff.networks import MLP


def test_concat_cond_feeds_the_input_layer_and_null_is_zeros():
    torch.manual_seed(0)
    net = MLP([3], hidden=16, depth=1, cond_shape=[4], concat_cond=True)
    assert net.input.in_features == 3 + 4
    x, t, cond = torch.randn(5, 3), torch.rand(5), torch.randn(5, 4)
    out = net(x, t, cond)
    assert out.shape == x.shape
    out.sum().backward()
    assert net.input.weight.grad[:, 3:].abs().sum() > 0  # the condition's input columns learn
    drop = torch.tensor([True, False, True, False, False])
    dropped = net(x, t, cond, drop_cond=drop)
    unconditional = net(x, t, None)
    torch.testing.assert_close(dropped[drop], unconditional[drop])
    torch.testing.assert_close(dropped[~drop], net(x, t, cond)[~drop])


def test_concat_cond_off_keeps_the_input_layer():
    assert MLP([3], hidden=16, depth=1, cond_shape=[4]).input.in_features == 3


@pytest.mark.parametrize("kwargs", [dict(num_classes=3), dict()])
def test_concat_cond_needs_vector_conditions(kwargs):
    with pytest.raises(ValueError, match="concat_cond"):
        MLP([3], hidden=16, depth=1, concat_cond=True, **kwargs)
