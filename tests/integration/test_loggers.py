"""Every logger config trains offline: scalars, the sample figure, the resolved config and the
final metrics reach each one (TensorBoard, CSV, Weights & Biases offline, MLflow file store)."""

from __future__ import annotations

import csv

import pytest
import yaml
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from flowdiff.evaluation.eval_job import evaluate_checkpoints
from flowdiff.training import train
from flowdiff.training.callbacks.run_identity import config_hash
from tests.helpers.config import TINY, compose_config


@pytest.fixture(scope="module")
def all_loggers_run(tmp_path_factory):
    """One tiny epoch with ``logger=[tensorboard,csv,wandb,mlflow]`` (shared by the tests of
    this file): the run folder and the final metrics."""
    folder = tmp_path_factory.mktemp("loggers")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WANDB_MODE", "offline")  # no network, whatever the user's settings
        patch.setenv("WANDB_SILENT", "true")
        patch.chdir(folder)
        overrides = [*TINY, "logger=[tensorboard,csv,wandb,mlflow]", "base_lr=3e-3"]
        cfg = compose_config("train", overrides, output_dir=folder / "run")
        assert sorted(cfg.logger) == ["csv", "mlflow", "tensorboard", "wandb"]
        metrics = train(cfg)
        run = folder / "run"
        # What flowdiff-train's Hydra writes, for flowdiff-eval to rebuild the run's loggers.
        (run / ".hydra").mkdir()
        OmegaConf.save({k: v for k, v in cfg.items() if k != "hydra"}, run / ".hydra/config.yaml")
        eval_overrides = [f"ckpt_path={run / 'checkpoints' / 'last.ckpt'}", "num_samples=50"]
        eval_overrides += ["nll.enabled=false", f"output_dir={folder / 'eval'}"]
        evaluate_checkpoints(compose_config("eval", eval_overrides))
    GlobalHydra.instance().clear()
    return run, metrics


def test_tensorboard_gets_figure_and_hparams(all_loggers_run):
    run, metrics = all_loggers_run
    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    assert "val/samples" in events.Tags()["images"]
    assert events.Scalars("final/val/loss")[-1].value == pytest.approx(metrics["val/loss"])
    assert {"eval/samples", "eval/histograms"} <= set(events.Tags()["images"])  # flowdiff-eval
    assert "eval/frechet" in events.Tags()["scalars"]
    # The HParams tab: the experiment (config columns and final metrics) and one session.
    hparams = events.PluginTagToContent("hparams")
    assert b"config/base_lr" in hparams["_hparams_/experiment"]
    assert b"final/val/loss" in hparams["_hparams_/experiment"]
    assert b"config/base_lr" in hparams["_hparams_/session_start_info"]


def test_csv_gets_metrics_config_and_final_row(all_loggers_run):
    run, metrics = all_loggers_run
    rows = list(csv.DictReader((run / "csv" / "metrics.csv").open()))
    assert any(row["val/loss"] for row in rows)
    final = [row for row in rows if row.get("final/val/loss")]
    assert len(final) == 1
    assert float(final[0]["final/val/loss"]) == pytest.approx(metrics["val/loss"])
    assert not any(row.get("eval/frechet") for row in rows)  # flowdiff-eval leaves it alone
    hparams = yaml.safe_load((run / "csv" / "hparams.yaml").read_text())
    assert hparams["config"]["model"]["sampler"]["steps"] == 2  # resolved ${sampling_steps}


def test_wandb_offline_run_gets_figure_config_and_summary(all_loggers_run):
    run, _ = all_loggers_run
    offline, evaluation = sorted((run / "wandb").glob("offline-run-*"))  # training, flowdiff-eval
    images = list((offline / "files" / "media" / "images").rglob("*.png"))
    assert any("samples" in str(image) for image in images), images
    images = list((evaluation / "files" / "media" / "images").rglob("*.png"))
    assert any("eval" in str(image) and "histograms" in str(image) for image in images), images
    # Offline runs keep config and summary in the run's record file until `wandb sync`.
    record = next(offline.glob("run-*.wandb")).read_bytes()
    assert b"final/val/loss" in record and b"base_lr" in record


def test_mlflow_file_store_gets_figure_params_and_metrics(all_loggers_run):
    run, metrics = all_loggers_run
    runs = [p for p in (run / "mlruns").glob("*/*") if (p / "metrics").is_dir()]
    assert len(runs) == 2  # training, and flowdiff-eval's
    (evaluation,) = [p for p in runs if (p / "metrics" / "eval").is_dir()]
    assert list((evaluation / "artifacts" / "eval" / "samples").glob("step*.png"))
    (mlflow_run,) = [p for p in runs if (p / "params" / "config").is_dir()]
    assert (mlflow_run / "params" / "config" / "base_lr").read_text() == "0.003"
    final = (mlflow_run / "metrics" / "final" / "val" / "loss").read_text().split()
    assert float(final[1]) == pytest.approx(metrics["val/loss"])
    assert list((mlflow_run / "artifacts" / "val" / "samples").glob("step*.png"))


def test_loggers_do_not_change_the_config_hash(make_config):
    """Which loggers a run has does not change what it trains (resuming may add one)."""
    plain = config_hash(make_config("train"))
    assert config_hash(make_config("train", "logger=[tensorboard,csv,wandb,mlflow]")) == plain
    assert config_hash(make_config("train", "base_lr=1e-3")) != plain


@pytest.mark.parametrize("override", ["logger=null", "~logger"])
def test_logging_off_trains_and_writes_no_logger_files(override, monkeypatch, tmp_path):
    """``flowdiff-train logger=null`` (Hydra itself refuses ``null`` for a config group) and
    ``~logger``: no logger, and the learning-rate monitor, which needs one, follows it out."""
    import sys

    from flowdiff.cli import train as train_cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["flowdiff-train", override, *TINY])
    GlobalHydra.instance().clear()
    train_cli.main()  # a failure exits (SystemExit) and fails the test
    (run,) = (tmp_path / "outputs").iterdir()
    assert (run / "checkpoints" / "last.ckpt").is_file()
    assert (run / "metrics.csv").is_file()  # flowdiff's run records are not a logger
    written = {p.name for p in run.rglob("*")}
    assert not {"tensorboard", "csv", "wandb", "mlruns"} & written
    assert not [name for name in written if name.startswith("events.out.tfevents")]
