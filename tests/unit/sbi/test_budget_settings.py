"""Batch size and patience scaled with the number of simulations (issue 26): the rule's values,
and that whatever the user sets, by name or by override, wins over it."""

from __future__ import annotations

import pytest

from flowdiff.sbi import PosteriorEstimator
from flowdiff.sbi.settings import budget_settings, unset_budget_settings


@pytest.mark.parametrize(
    "simulations, batch, patience, hidden, depth",
    [
        (100, 32, 50, 128, 3),
        (1_000, 32, 47, 128, 3),
        (4_999, 128, 21, 128, 3),
        (10_000, 256, 15, 256, 4),
        (100_000, 512, 10, 256, 4),
        (10**7, 512, 10, 256, 4),
    ],
)
def test_settings_follow_the_number_of_simulations(simulations, batch, patience, hidden, depth):
    assert budget_settings(simulations) == {
        "batch_size": batch, "patience": patience, "hidden": hidden, "depth": depth,
    }  # fmt: skip


def test_named_settings_and_overrides_win_over_the_rule():
    rule = budget_settings(1_000)
    assert unset_budget_settings(1_000, {"patience": 3, "hidden": 64}) == {
        "batch_size": 32, "depth": 3,
    }  # fmt: skip
    overrides = ["batch_size=8", "callbacks.early_stopping.patience=2", "model.network.depth=1"]
    assert unset_budget_settings(1_000, {}, overrides) == {"hidden": rule["hidden"]}
    estimator = PosteriorEstimator(batch_size=64)
    assert estimator.budget_settings(10_000, {}) == {"patience": 15, "hidden": 256, "depth": 4}
    assert estimator.budget_settings(10_000, {"patience": 4, "hidden": 8, "depth": 1}) == {}
    no_stopping = PosteriorEstimator(overrides=["~callbacks.early_stopping"], hidden=32, depth=1)
    assert no_stopping.budget_settings(10_000, {}) == {"batch_size": 256}


def test_the_network_size_follows_the_rule_only_for_the_default_network():
    assert "hidden" not in PosteriorEstimator(network="mlp").budget_settings(10_000, {})
    chosen = PosteriorEstimator(overrides=["model/network=tokens"])
    assert "depth" not in chosen.budget_settings(10_000, {})


def test_a_fit_records_the_scaled_patience_in_its_overrides(fitted):
    estimator, _ = fitted  # 400 simulations, batch_size=64 given (tests/unit/sbi/conftest.py)
    assert "callbacks.early_stopping.patience=50" in estimator.overrides
    assert "batch_size=64" in estimator.overrides
