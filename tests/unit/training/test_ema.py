"""The EMA decay warm-up: the average forgets the random starting weights early."""

from __future__ import annotations

import pytest
import torch

from flowdiff.training.callbacks.ema import WarmupEMAWeightAveraging, warmup_decay


@pytest.mark.parametrize(("n", "expected"), [(0, 0.1), (90, 0.91), (10**6, 0.999)])
def test_warmup_decay_ramps_to_the_configured_decay(n, expected):
    assert float(warmup_decay(0.999, torch.tensor(n))) == pytest.approx(expected, abs=1e-6)


def test_average_uses_the_warmed_decay_and_can_be_switched_off():
    warm = WarmupEMAWeightAveraging(decay=0.999).avg_fn
    averaged = [torch.zeros(3), torch.zeros(2, 2)]
    warm(averaged, [torch.ones(3), torch.full((2, 2), 2.0)], torch.tensor(0))
    torch.testing.assert_close(averaged[0], torch.full((3,), 0.9))  # rate 0.1 after 0 updates
    torch.testing.assert_close(averaged[1], torch.full((2, 2), 1.8))
    plain = WarmupEMAWeightAveraging(decay=0.999, warmup=False).avg_fn
    averaged = [torch.zeros(3)]
    plain(averaged, [torch.ones(3)], torch.tensor(0))
    torch.testing.assert_close(averaged[0], torch.full((3,), 1e-3))


def test_initial_weights_are_forgotten_within_a_short_run():
    """After 1,650 updates the share of the starting weights is 0.999**1650 = 19% without the
    warm-up and negligible with it."""
    warm = WarmupEMAWeightAveraging(decay=0.999).avg_fn
    share = [torch.ones(1)]  # the EMA's weight on the initial parameters
    for n in range(1650):
        warm(share, [torch.zeros(1)], torch.tensor(n))
    assert float(share[0]) < 0.05


def test_the_callback_averages_a_model_in_place():
    """Through Lightning's ``WeightAveraging`` and torch's ``AveragedModel``: the first update
    copies the weights, the next ones move the average by the warmed-up rate."""
    from torch.optim.swa_utils import AveragedModel

    callback = WarmupEMAWeightAveraging(decay=0.999)
    model = torch.nn.Linear(2, 2)
    average = AveragedModel(model, multi_avg_fn=callback.avg_fn, use_buffers=False)
    average.update_parameters(model)  # a copy
    start = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    average.update_parameters(model)  # n_averaged = 1: rate (1 + 1) / (10 + 1)
    torch.testing.assert_close(average.module.weight, start + 9 / 11)


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
