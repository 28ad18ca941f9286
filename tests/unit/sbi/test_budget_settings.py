"""Batch size and patience scaled with the number of simulations (issue 26): the rule's values,
and that whatever the user sets, by name or by override, wins over it."""

from __future__ import annotations

import pytest

from flowdiff.sbi import PosteriorEstimator
from flowdiff.sbi.settings import budget_settings, unset_budget_settings


@pytest.mark.parametrize(
    "simulations, batch, patience",
    [(100, 32, 50), (1_000, 32, 47), (10_000, 256, 15), (100_000, 512, 10), (10**7, 512, 10)],
)
def test_batch_and_patience_follow_the_number_of_simulations(simulations, batch, patience):
    assert budget_settings(simulations) == {"batch_size": batch, "patience": patience}


def test_named_settings_and_overrides_win_over_the_rule():
    assert unset_budget_settings(1_000, {"patience": 3}) == {"batch_size": 32}
    overrides = ["batch_size=8", "callbacks.early_stopping.patience=2"]
    assert unset_budget_settings(1_000, {}, overrides) == {}
    estimator = PosteriorEstimator(batch_size=64)
    assert estimator.budget_settings(10_000, {}) == {"patience": 15}
    assert estimator.budget_settings(10_000, {"patience": 4}) == {}
    no_stopping = PosteriorEstimator(overrides=["~callbacks.early_stopping"])
    assert no_stopping.budget_settings(10_000, {}) == {"batch_size": 256}


def test_a_fit_records_the_scaled_patience_in_its_overrides(fitted):
    estimator, _ = fitted  # 400 simulations, batch_size=64 given (tests/unit/sbi/conftest.py)
    assert "callbacks.early_stopping.patience=50" in estimator.overrides
    assert "batch_size=64" in estimator.overrides
