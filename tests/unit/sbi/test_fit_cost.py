"""What a fit writes: no resume checkpoint in a temporary folder that is removed afterwards,
the usual ones in a run folder that stays."""

from __future__ import annotations

import pytest

from flowdiff.sbi import PosteriorEstimator, estimator
from tests.unit.sbi.conftest import TINY


@pytest.fixture
def configs(monkeypatch):
    seen = []
    fit = estimator.fit_config

    def recording(cfg, datamodule, **parts):
        seen.append(cfg.copy())
        return fit(cfg, datamodule, **parts)

    monkeypatch.setattr(estimator, "fit_config", recording)
    return seen


def _estimator(**options):
    settings = {k: v for k, v in TINY.items() if k != "trainer"}
    return PosteriorEstimator(overrides=["trainer=cpu"], **settings, **options)


def test_a_fit_in_a_temporary_folder_writes_no_last_checkpoint(simulations, configs):
    _, theta, x = simulations
    _estimator().fit(theta, x)
    assert configs[0].callbacks.last_checkpoint is None
    assert configs[0].callbacks.model_checkpoint is not None  # early stopping restores from it


def test_a_fit_in_a_run_folder_keeps_last_checkpoint(simulations, configs, tmp_path):
    _, theta, x = simulations
    _estimator(output_dir=tmp_path).fit(theta, x)
    assert configs[0].callbacks.last_checkpoint is not None
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()
