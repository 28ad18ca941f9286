"""Sweeps: ``flowdiff-train -m hparams_search=digits_optuna`` runs Hydra's Optuna sweeper over
real training runs and reports the best trial."""

from __future__ import annotations

import csv
import math
import sys

import yaml
from hydra.core.global_hydra import GlobalHydra

from flowdiff.cli import train as train_cli
from tests.helpers.config import TINY


def _final_val_loss(run) -> float:
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    return float(rows[-1]["val_loss"])


def test_optuna_sweep_two_trials(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLOWDIFF_DEBUG", raising=False)
    args = ["-m", "hparams_search=digits_optuna", "hydra.sweeper.n_trials=2"]
    args += ["hydra.sweeper.sampler.n_startup_trials=1", *TINY, "run_name=search"]
    monkeypatch.setattr(sys, "argv", ["flowdiff-train", *args])
    GlobalHydra.instance().clear()
    train_cli.main()

    sweep = tmp_path / "outputs" / "multirun" / "search"
    trials = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert [p.name for p in trials] == ["0", "1"]
    assert all((trial / "checkpoints" / "last.ckpt").is_file() for trial in trials)
    result = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    searched = {"base_lr", "batch_size", "ema_decay", "model.network.hidden"}
    assert set(result["best_params"]) == searched
    assert 1e-4 <= result["best_params"]["base_lr"] <= 1e-2
    # The sweeper minimises what flowdiff-train returns: the final val/loss of each trial.
    losses = [_final_val_loss(trial) for trial in trials]
    assert math.isclose(result["best_value"], min(losses), rel_tol=1e-5)  # metrics.csv: 6 digits
