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
    warm = WarmupEMAWeightAveraging(decay=0.999).avg_fn
    torch.testing.assert_close(warm(averaged, current, torch.tensor(0)), torch.full((3,), 0.9))
    plain = WarmupEMAWeightAveraging(decay=0.999, warmup=False).avg_fn
    torch.testing.assert_close(plain(averaged, current, torch.tensor(0)), torch.full((3,), 1e-3))


def test_initial_weights_are_forgotten_within_a_short_run():
    """After 1,650 updates the share of the starting weights is 0.999**1650 = 19% without the
    warm-up and negligible with it."""
    warm = WarmupEMAWeightAveraging(decay=0.999).avg_fn
    share = torch.ones(1)  # the EMA's weight on the initial parameters
    for n in range(1650):
        share = warm(share, torch.zeros(1), torch.tensor(n))
    assert float(share) < 0.05


def test_updates_follow_the_step_and_epoch_options():
    every_third_from_5 = WarmupEMAWeightAveraging(update_every_n_steps=3, update_starting_at_step=5)
    steps = [s for s in range(12) if every_third_from_5.should_update(step_idx=s)]
    assert steps == [6, 9]
    assert not every_third_from_5.should_update(epoch_idx=4)
    per_epoch = WarmupEMAWeightAveraging(update_every_n_steps=0, update_starting_at_epoch=2)
    assert [e for e in range(4) if per_epoch.should_update(epoch_idx=e)] == [2, 3]
    assert not per_epoch.should_update(step_idx=4)


def test_decay_outside_the_unit_interval_is_refused_in_its_own_name():
    with pytest.raises(ValueError, match=r"decay=1.5 must lie in \[0, 1\]"):
        WarmupEMAWeightAveraging(decay=1.5)
