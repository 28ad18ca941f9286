"""The EMA decay warm-up: the average forgets the random starting weights early."""

from __future__ import annotations

import pytest
import torch

from flowdiff.training.callbacks.ema import WarmupEMAWeightAveraging, warmup_decay


@pytest.mark.parametrize(("n", "expected"), [(0, 0.1), (90, 0.91), (10**6, 0.999)])
def test_warmup_decay_ramps_to_the_configured_decay(n, expected):
    assert float(warmup_decay(0.999, torch.tensor(n))) == pytest.approx(expected, abs=1e-6)


def test_average_uses_the_warmed_decay_and_can_be_switched_off():
    averaged, current = torch.zeros(3), torch.ones(3)
    warm = WarmupEMAWeightAveraging(decay=0.999)._kwargs["avg_fn"]
    torch.testing.assert_close(warm(averaged, current, torch.tensor(0)), torch.full((3,), 0.9))
    plain = WarmupEMAWeightAveraging(decay=0.999, warmup=False)._kwargs["avg_fn"]
    torch.testing.assert_close(plain(averaged, current, torch.tensor(0)), torch.full((3,), 1e-3))


def test_initial_weights_are_forgotten_within_a_short_run():
    """After 1,650 updates the share of the starting weights is 0.999**1650 = 19% without the
    warm-up and negligible with it."""
    warm = WarmupEMAWeightAveraging(decay=0.999)._kwargs["avg_fn"]
    share = torch.ones(1)  # the EMA's weight on the initial parameters
    for n in range(1650):
        share = warm(share, torch.zeros(1), torch.tensor(n))
    assert float(share) < 0.05
