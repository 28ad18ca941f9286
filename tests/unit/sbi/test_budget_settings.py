"""Batch size and patience scaled with the number of simulations (issue 26): the rule's values,
and that whatever the user sets, by name or by override, wins over it."""

from __future__ import annotations

import pytest

from flowdiff.sbi import PosteriorEstimator
from flowdiff.sbi.settings import (
    DIFFUSION_STEPS,
    budget_settings,
    unset_budget_settings,
    unset_path_settings,
)
from tests.unit.sbi.conftest import TINY


@pytest.mark.parametrize(
    "simulations, batch, patience",
    [(100, 32, 50), (1_000, 32, 24), (10_000, 256, 10), (100_000, 512, 10), (10**7, 512, 10)],
)
def test_batch_and_patience_follow_the_number_of_simulations(simulations, batch, patience):
    assert budget_settings(simulations) == {"batch_size": batch, "patience": patience}


def test_named_settings_and_overrides_win_over_the_rule():
    assert unset_budget_settings(1_000, {"patience": 3}) == {"batch_size": 32}
    overrides = ["batch_size=8", "callbacks.early_stopping.patience=2"]
    assert unset_budget_settings(1_000, {}, overrides) == {}
    estimator = PosteriorEstimator(batch_size=64)
    assert estimator.budget_settings(10_000, {}) == {"patience": 10}
    assert estimator.budget_settings(10_000, {"patience": 4}) == {}
    no_stopping = PosteriorEstimator(overrides=["~callbacks.early_stopping"])
    assert no_stopping.budget_settings(10_000, {}) == {"batch_size": 256}


def test_a_fit_records_the_scaled_patience_in_its_overrides(fitted):
    estimator, _ = fitted  # 400 simulations, batch_size=64 given (tests/unit/sbi/conftest.py)
    assert "callbacks.early_stopping.patience=38" in estimator.overrides
    assert "batch_size=64" in estimator.overrides


def test_diffusion_posteriors_take_16_steps_unless_set():
    """8 steps cost diffusion posteriors 0.10-0.15 of C2ST against 16 (docs/benchmarks.md)."""
    assert unset_path_settings("diffusion", {}) == {"steps": DIFFUSION_STEPS} == {"steps": 16}
    assert unset_path_settings("flow_matching", {}) == {}
    assert unset_path_settings("diffusion", {"steps": 8}) == {}
    assert unset_path_settings("diffusion", {}, ["sampling_steps=4"]) == {}
    assert unset_path_settings("diffusion", {}, ["model.sampler.steps=4"]) == {}


@pytest.mark.parametrize(
    "path, named, overrides, steps",
    [
        ("diffusion", {}, [], 16),
        ("diffusion", {"steps": 5}, [], 5),
        ("diffusion", {}, ["sampling_steps=3"], 3),
        ("flow_matching", {}, [], 8),
    ],
)
def test_a_fit_samples_with_the_path_steps(simulations, path, named, overrides, steps):
    _, theta, x = simulations
    options = {k: v for k, v in TINY.items() if k != "trainer"}
    estimator = PosteriorEstimator(
        path=path, overrides=["trainer=cpu", *overrides], **options, **named
    )
    assert estimator.fit(theta, x).model.sampler.steps == steps
