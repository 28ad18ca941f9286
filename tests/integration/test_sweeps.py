"""Sweeps as users type them: ``flowdiff-train --multirun ...``, ``-m hparams_search=digits_optuna``
(with and without a database storage) and ``-m experiment=sweep_lr`` need no extra key; each job
is a run in ``outputs/multirun/<date>/<time>/<job number>/``. Only limits are appended
(:data:`tests.helpers.config.TINY`), never ``run_name=`` or ``hydra.*.dir=``."""

from __future__ import annotations

import csv
import math
import sqlite3
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from hydra.core.global_hydra import GlobalHydra

from flowdiff.cli import sweep_guard
from flowdiff.cli import train as train_cli
from flowdiff.errors import ConfigError
from tests.helpers.cli import cli, error_line
from tests.helpers.config import TINY


def _final_val_loss(run) -> float:
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    return float(rows[-1]["val_loss"])


def _sweep(monkeypatch, tmp_path, args: list[str]) -> Path:
    """Run ``flowdiff-train <args> <TINY>`` in ``tmp_path``; returns the one sweep folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLOWDIFF_DEBUG", raising=False)
    monkeypatch.setattr(sys, "argv", ["flowdiff-train", *args, *TINY])
    GlobalHydra.instance().clear()
    train_cli.main()
    (sweep,) = (tmp_path / "outputs" / "multirun").glob("*/*")  # <date>/<time>
    return sweep


def _jobs(sweep: Path) -> list[Path]:
    jobs = sorted((p for p in sweep.iterdir() if p.is_dir()), key=lambda p: int(p.name))
    assert all((job / "checkpoints" / "last.ckpt").is_file() for job in jobs)
    assert all((job / "events.jsonl").is_file() for job in jobs)  # the run records
    return jobs


def test_a_plain_multirun_needs_no_key(monkeypatch, tmp_path):
    sweep = _sweep(monkeypatch, tmp_path, ["--multirun", "base_lr=5e-4,1e-3", "max_epochs=1"])
    jobs = _jobs(sweep)
    assert [job.name for job in jobs] == ["0", "1"]
    lrs = [yaml.safe_load((job / ".hydra" / "config.yaml").read_text())["base_lr"] for job in jobs]
    assert lrs == [5e-4, 1e-3]


def test_optuna_sweep_two_trials(monkeypatch, tmp_path):
    args = ["-m", "hparams_search=digits_optuna", "hydra.sweeper.n_trials=2"]
    sweep = _sweep(monkeypatch, tmp_path, [*args, "hydra.sweeper.sampler.n_startup_trials=1"])
    trials = _jobs(sweep)
    assert [p.name for p in trials] == ["0", "1"]
    result = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    searched = {"base_lr", "batch_size", "ema_decay", "model.network.hidden"}
    assert set(result["best_params"]) == searched
    assert 1e-4 <= result["best_params"]["base_lr"] <= 1e-2
    # The sweeper minimises what flowdiff-train returns: the final val/loss of each trial.
    losses = [_final_val_loss(trial) for trial in trials]
    assert math.isclose(result["best_value"], min(losses), rel_tol=1e-5)  # metrics.csv: 6 digits


@pytest.mark.skipif(
    sweep_guard._major("sqlalchemy") != 1, reason="flowdiff[optuna] pins sqlalchemy<2"
)
def test_optuna_sweep_keeps_its_study_in_sqlite(monkeypatch, tmp_path):
    args = ["-m", "hparams_search=digits_optuna", "hydra.sweeper.storage=sqlite:///optuna.db"]
    sweep = _sweep(monkeypatch, tmp_path, [*args, "hydra.sweeper.n_trials=1"])
    assert [p.name for p in _jobs(sweep)] == ["0"]
    with sqlite3.connect(tmp_path / "optuna.db") as db:
        assert db.execute("select study_name from studies").fetchall() == [("digits",)]
        assert db.execute("select count(*) from trials").fetchone() == (1,)


def _installed(monkeypatch, **versions: str) -> None:
    """Make the sweep guard see these package versions (the others as installed)."""
    real = sweep_guard.metadata.version
    fake = SimpleNamespace(
        version=lambda name: versions.get(name) or real(name),
        PackageNotFoundError=sweep_guard.metadata.PackageNotFoundError,
    )
    monkeypatch.setattr(sweep_guard, "metadata", fake)


def test_optuna_storage_on_sqlalchemy_2_names_the_fix(monkeypatch, capsys, tmp_path):
    _installed(monkeypatch, optuna="2.10.1", sqlalchemy="2.0.36")
    args = ["-m", "hparams_search=digits_optuna", "hydra.sweeper.storage=sqlite:///optuna.db"]
    code, err = cli(train_cli.main, [*args, *TINY], capsys, monkeypatch, tmp_path)
    line = error_line(err)
    assert code == 1
    assert "hydra.sweeper.storage=sqlite:///optuna.db" in line
    # The versions named are the ones installed (docs/reliability.md shows this line).
    assert "Optuna 2.10.1" in line and "cannot use SQLAlchemy 2.0.36" in line
    assert f"pip install '{sweep_guard.OPTUNA_SQLALCHEMY}'" in line
    assert not (tmp_path / "optuna.db").exists()


def test_the_storage_check_passes_without_storage(monkeypatch):
    monkeypatch.setattr(sweep_guard, "_major", lambda package: 2)
    sweep_guard.check_optuna_storage(None)
    with pytest.raises(ConfigError, match="sqlalchemy"):
        sweep_guard.check_optuna_storage("sqlite:///x.db")


@pytest.mark.slow  # six jobs
def test_the_lr_sweep_experiment_runs_as_typed(monkeypatch, tmp_path):
    sweep = _sweep(monkeypatch, tmp_path, ["-m", "experiment=sweep_lr"])
    assert [job.name for job in _jobs(sweep)] == [str(i) for i in range(6)]
