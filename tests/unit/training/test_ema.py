"""The EMA decay warm-up: the average forgets the random starting weights early."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from flowdiff.training.callbacks.ema import (
    WarmupEMAWeightAveraging,
    warmup_decay,
    warmup_shortfall,
)


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


class _WithBuffer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
        self.register_buffer("shift", torch.zeros(2))


def test_the_cached_update_matches_torchs_update_step_for_step():
    from torch.optim.swa_utils import AveragedModel

    from flowdiff.training.callbacks.ema import CachedUpdate, EMAUpdate

    torch.manual_seed(0)
    model = _WithBuffer()
    reference = AveragedModel(model, multi_avg_fn=EMAUpdate(0.99), use_buffers=False)
    cached = AveragedModel(model, multi_avg_fn=EMAUpdate(0.99), use_buffers=False)
    update = CachedUpdate(cached)
    for step in range(5):
        reference.update_parameters(model)
        update(model)
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.add_(torch.randn_like(parameter))
            model.shift.fill_(step)  # buffers are copied, not averaged
    assert int(cached.n_averaged) == int(reference.n_averaged) == 5
    for got, want in zip(
        cached.state_dict().values(), reference.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(got, want, rtol=0, atol=0)
    assert float(cached.module.shift[0]) == 3.0  # the buffer as it was at the last update


def test_the_callback_updates_through_the_cached_update_in_a_fit(tmp_path):
    import lightning as L

    from flowdiff.compat import averaged_model
    from flowdiff.training.callbacks.ema import CachedUpdate

    class Tiny(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(2, 1)

        def training_step(self, batch, batch_idx):
            return self.layer(batch[0]).pow(2).mean()

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(8, 2)), 4)
    callback = WarmupEMAWeightAveraging(decay=0.9, use_buffers=False)
    trainer = L.Trainer(max_steps=6, callbacks=[callback], logger=False, enable_progress_bar=False,
                        enable_checkpointing=False, default_root_dir=tmp_path)  # fmt: skip
    trainer.fit(Tiny(), data)
    averaged = averaged_model(callback)
    assert isinstance(vars(averaged)["update_parameters"], CachedUpdate)
    assert int(averaged.n_averaged) == 6


def test_a_run_shorter_than_the_warm_up_is_told_its_decay_never_binds():
    """The digits job's 1,650 updates end at 0.9946: ema_decay 0.999 or 0.998 give the same
    weights, which the user is told; a run long enough for the decay is told nothing."""
    message = warmup_shortfall(0.999, 1650)
    assert "8,999" in message and "0.9946" in message and "warmup=false" in message
    assert warmup_shortfall(0.999, 9000) is None
    assert warmup_shortfall(0.99, 1650) is None  # reached after 899
    assert warmup_shortfall(0.999, float("inf")) is None  # no step budget known


def test_the_shortfall_is_logged_when_training_starts(monkeypatch):
    logged = []
    monkeypatch.setattr("flowdiff.training.callbacks.ema.rank_zero_info", logged.append)
    trainer = SimpleNamespace(estimated_stepping_batches=1650)
    WarmupEMAWeightAveraging(decay=0.999).on_train_start(trainer, None)
    WarmupEMAWeightAveraging(decay=0.999, warmup=False).on_train_start(trainer, None)
    WarmupEMAWeightAveraging(decay=0.9).on_train_start(trainer, None)
    assert len(logged) == 1 and "1,650" in logged[0]
