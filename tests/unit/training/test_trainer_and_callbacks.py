"""Trainer presets, callbacks (EMA, early stopping, divergence guard, run records), hardware
fallbacks and resuming into the run's own folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from flowdiff.checkpoints.reading import read_checkpoint
from flowdiff.checkpoints.run_folders import run_dir
from flowdiff.checkpoints.weights import model_state_dict, weights_label
from flowdiff.config.hardware import fallback_precision, fit_to_hardware
from flowdiff.model import loading
from flowdiff.model.module import GenerativeModule
from flowdiff.training import build, order_callbacks, train
from flowdiff.training.callbacks import DivergenceGuard, EarlyStopping
from tests.helpers.config import CONFIG_DIR

TRAINERS = sorted(path.stem for path in (CONFIG_DIR / "trainer").glob("*.yaml"))
#: Callback configs beyond those every run has (callbacks/default.yaml lists those).
EXTRA_CALLBACKS = sorted(
    {path.stem for path in (CONFIG_DIR / "callbacks").glob("*.yaml")}
    - {"default", *OmegaConf.load(CONFIG_DIR / "callbacks" / "default.yaml").defaults}
)


def fit(cfg):
    datamodule, model, trainer = build(cfg)
    trainer.fit(model, datamodule=datamodule)
    return model, trainer


@pytest.mark.parametrize("name", TRAINERS)
def test_every_trainer_preset_runs_on_the_cpu(make_config, name):
    cfg = make_config("train", f"trainer={name}", "trainer.accelerator=cpu", "trainer.devices=1")
    cfg.trainer.fast_dev_run = True
    _, _, trainer = build(cfg)
    assert trainer.precision == fallback_precision(cfg.trainer.precision, "cpu")
    assert train(cfg)["train/loss"] > 0


def test_precision_falls_back_to_what_the_hardware_has():
    assert fallback_precision("16-mixed", "cpu") == "32-true"
    assert fallback_precision("bf16-mixed", "cpu") == "bf16-mixed"
    assert fallback_precision("32-true", "cuda") == "32-true"


def test_multi_gpu_preset_on_cpu_drops_sync_batchnorm_and_fp16(make_config):
    cfg = make_config("train", "trainer=multi_gpu", "trainer.accelerator=cpu")
    with pytest.warns(UserWarning, match="precision=16-mixed"):
        fitted = fit_to_hardware(cfg.trainer)
    assert fitted.precision == "32-true" and fitted.sync_batchnorm is False
    assert fitted.strategy.static_graph and not fitted.strategy.find_unused_parameters


def test_debug_preset_detects_anomalies(make_config):
    cfg = make_config("train", "trainer=debug")
    _, _, trainer = build(cfg)
    assert trainer.fast_dev_run and trainer._detect_anomaly


@pytest.mark.parametrize("name", EXTRA_CALLBACKS)
def test_every_callback_config_runs(make_config, name):
    cfg = make_config("train", f"callbacks=[default,{name}]", "trainer.fast_dev_run=true")
    assert train(cfg)["train/loss"] > 0


def test_ema_runs_first_and_stopping_callbacks_next(make_config):
    cfg = make_config("train", "callbacks=[default,early_stopping,divergence_guard]")
    _, _, trainer = build(cfg)
    names = [type(c).__name__ for c in order_callbacks(trainer.callbacks)]
    assert names[:3] == ["WarmupEMAWeightAveraging", "EarlyStopping", "DivergenceGuard"]
    assert names.index("SampleFigures") > 2


def test_checkpoints_hold_raw_and_ema_weights_and_loading_picks_ema(
    make_config, tmp_path, monkeypatch
):
    cfg = make_config("train", "experiment=toy2d", "max_epochs=2")
    _, trainer = fit(cfg)
    last = Path(trainer.default_root_dir) / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(last, weights_only=False)
    ema, raw = checkpoint["state_dict"], checkpoint["current_model_state"]
    key = "network.output.2.weight"
    assert not torch.equal(ema[key], raw[key])
    assert torch.equal(GenerativeModule.load_from_checkpoint(last).state_dict()[key], ema[key])
    raw_model = GenerativeModule.load_from_checkpoint(last, ema=False)
    assert torch.equal(raw_model.state_dict()[key], raw[key])
    assert model_state_dict({"state_dict": raw}, ema=True) is raw  # no EMA: the raw weights
    assert weights_label({"state_dict": raw}, ema=True) == "raw (no EMA saved)"
    reads = []  # load_model (flowdiff-sample, flowdiff-eval) reads the file once

    def counted_read(*args, **kwargs):
        reads.append(args)
        return read_checkpoint(*args, **kwargs)

    monkeypatch.setattr(loading, "read_checkpoint", counted_read)
    for use_ema, weights, expected in ((True, "ema", ema), (False, "raw", raw)):
        loaded = loading.load_model(last, ema=use_ema)
        assert loaded.weights == weights
        assert torch.equal(loaded.model.state_dict()[key], expected[key])
    assert len(reads) == 2


def test_early_stopping_restores_the_best_checkpoint(make_config):
    cfg = make_config(
        "train",
        "experiment=toy2d",
        "max_epochs=6",
        "callbacks=[default,early_stopping]",
        "callbacks.early_stopping.patience=1",
        "callbacks.early_stopping.min_delta=10",  # nothing after the first epoch counts
    )
    model, trainer = fit(cfg)
    stopper = next(c for c in trainer.callbacks if isinstance(c, EarlyStopping))
    assert trainer.current_epoch == 2 and stopper.stopped_epoch == 1
    events = read_events(trainer)
    val = [event["val/loss"] for event in events if event["event"] == "validation"]
    best = trainer.checkpoint_callback.best_model_path
    assert f"epoch{val.index(min(val)):03d}" in best  # the lowest val/loss, whatever min_delta
    saved = torch.load(best, weights_only=False)["state_dict"]
    for name, value in model.state_dict().items():
        assert torch.equal(value, saved[name]), name
    assert events[-1]["event"] == "end" and "did not improve" in events[-1]["reason"]


def test_divergence_guard_stops_and_says_why(make_config):
    cfg = make_config(
        "train",
        "experiment=toy2d",
        "max_epochs=5",
        "callbacks=[default,divergence_guard]",
        "callbacks.divergence_guard.max_ratio=1e-6",
        "callbacks.divergence_guard.patience=1",
        "callbacks.divergence_guard.start_epoch=0",
    )
    _, trainer = fit(cfg)
    guard = next(c for c in trainer.callbacks if isinstance(c, DivergenceGuard))
    assert guard.stopped_epoch == 1 and trainer.current_epoch == 2
    assert "stayed above max_ratio=1e-06 for 2 epochs" in read_events(trainer)[-1]["reason"]


def read_events(trainer) -> list[dict]:
    lines = (Path(trainer.default_root_dir) / "events.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_run_records(make_config):
    cfg = make_config("train", "experiment=toy2d", "max_epochs=2")
    _, trainer = fit(cfg)
    events = read_events(trainer)
    assert [e["event"] for e in events] == ["start", "validation", "validation", "end"]
    for event in events:
        assert {"config_hash", "git_commit", "seed", "host", "time", "epoch", "step"} <= set(event)
        assert event["seed"] == cfg.seed
    assert events[-1]["reason"] == "max_epochs=2 reached"
    folder = Path(trainer.default_root_dir)
    rows = (folder / "metrics.csv").read_text().splitlines()
    assert rows[0].split(",") == [
        "epoch", "step", "train_loss", "val_loss", "lr", "epoch_s", "samples_per_s",
        "peak_memory_mb",
    ]  # fmt: skip
    assert len(rows) == 3 and all(float(value) >= 0 for value in rows[2].split(","))
    assert (folder / "loss_curve.png").stat().st_size > 1000


def test_run_folder_of_a_resumed_run(tmp_path):
    default = str(tmp_path / "outputs" / "train_new")
    assert run_dir(default, None, "train") == default
    ckpt = tmp_path / "outputs" / "train_old" / "checkpoints" / "last.ckpt"
    assert run_dir(default, str(ckpt), "train") == str(ckpt.parent.parent)
    assert run_dir(default, str(tmp_path / "model.ckpt"), "train") == default
    with pytest.raises(FileNotFoundError, match="ckpt_path=last"):
        run_dir(default, "last", "train")
    ckpt.parent.mkdir(parents=True)
    ckpt.touch()
    assert run_dir(default, "last", "train") == str(ckpt.parent.parent)


@pytest.mark.slow
def test_cli_resume_with_last_continues_in_the_same_folder(tmp_path):
    tiny = [
        "trainer=cpu", "trainer.limit_train_batches=2", "trainer.limit_val_batches=1",
        "callbacks.progress_bar=null", "sampling_steps=2", "experiment=toy2d",
        "model.network.hidden=32", "data.num_samples=1000",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}

    def run(*overrides):
        command = [sys.executable, "-m", "flowdiff.cli.train", *tiny, *overrides]
        subprocess.run(command, cwd=tmp_path, env=env, check=True, capture_output=True)

    run("max_epochs=1")
    run("max_epochs=2", "ckpt_path=last")
    (folder,) = (tmp_path / "outputs").iterdir()
    events = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    starts = [e for e in events if e["event"] == "start"]
    assert len(starts) == 2 and starts[1]["resumed_from"].endswith("last.ckpt")
    assert starts[0]["config_hash"] != starts[1]["config_hash"]  # max_epochs changed
    assert len(list((folder / "tensorboard").glob("events.out.tfevents.*"))) == 2
    assert (folder / ".hydra" / "config.yaml").is_file()
    assert len(list(folder.glob(".hydra-*/config.yaml"))) == 1  # the first run's, kept
    assert len((folder / "metrics.csv").read_text().splitlines()) == 3


def test_slurm_launcher_config_follows_the_trainer(make_config):
    cfg = make_config(
        "train",
        "hydra/launcher=slurm",
        "trainer=multi_gpu",
        "trainer.devices=4",
        "trainer.num_nodes=2",
    )
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("submitit_launcher.SlurmLauncher")
    assert (launcher.nodes, launcher.tasks_per_node, launcher.gpus_per_node) == (2, 4, 4)


@pytest.mark.slow
def test_named_sweep_runs_every_job(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    command = [
        sys.executable, "-m", "flowdiff.cli.train", "--multirun", "experiment=sweep_lr",
        "base_lr=1e-3", "trainer=cpu", "trainer.fast_dev_run=true", "callbacks.progress_bar=null",
        "sampling_steps=2",
    ]  # fmt: skip
    subprocess.run(command, cwd=tmp_path, env=env, check=True, capture_output=True)
    jobs = sorted((tmp_path / "outputs" / "multirun").glob("*/*/[0-9]*"))  # <date>/<time>/<job>
    assert len(jobs) == 2  # base_lr fixed on the command line x 2 schedules
    for job in jobs:
        assert (job / "samples" / "final.png").is_file()
        overrides = (job / ".hydra" / "overrides.yaml").read_text()
        assert "model/lr_scheduler=" in overrides


@pytest.mark.slow
def test_compiled_network_trains_with_ema(make_config):
    cfg = make_config("train", "model.compile=true", "experiment=toy2d", "max_epochs=1")
    model, trainer = fit(cfg)
    assert trainer.global_step == 2
    assert all("_orig_mod" not in key for key in model.state_dict())  # checkpoint keys unchanged


def test_seed_spellings_of_accumulation_and_ema_decay(make_config):
    cfg = make_config("train", "multistep=4", "ema_decay=0.99")
    assert cfg.trainer.accumulate_grad_batches == 4
    assert cfg.callbacks.ema.decay == 0.99
    cfg = make_config("train", "trainer.accumulate_grad_batches=3")
    assert cfg.trainer.accumulate_grad_batches == 3 and cfg.callbacks.ema.decay == 0.999


def test_restoring_the_best_weights_reads_the_checkpoint_safely(make_config):
    import argparse

    from flowdiff.errors import CheckpointError
    from flowdiff.training.callbacks.best_weights import restore_best_weights

    model, trainer = fit(make_config("train", "experiment=toy2d", "model.network.hidden=16"))
    best = Path(trainer.checkpoint_callback.best_model_path)
    checkpoint = torch.load(best, weights_only=False)
    checkpoint["extra"] = argparse.Namespace(note="any pickled object")
    torch.save(checkpoint, best)
    with pytest.raises(CheckpointError, match=r"argparse\.Namespace.*trust_checkpoint=true"):
        restore_best_weights(trainer, model, "val/loss")
    trainer.strategy.checkpoint_io.trust_checkpoint = True  # the run's trust_checkpoint=true
    assert restore_best_weights(trainer, model, "val/loss") == best


def test_python_run_failing_before_its_first_step_removes_only_its_own_folder(make_config):
    from flowdiff.checkpoints.run_folders import discard_failed_start
    from flowdiff.errors import DataError

    cfg = make_config("train", "data.data_dir=nope")
    run = Path(cfg.hydra.runtime.output_dir)
    (run / ".hydra").mkdir(parents=True)
    (run / "train.log").write_text("")
    with pytest.raises(DataError, match="does not exist"):
        train(cfg)
    assert not run.exists() and run.parent.is_dir()
    kept = run.parent / "kept"
    (kept / "checkpoints").mkdir(parents=True)
    (kept / "train.log").write_text("")
    assert not discard_failed_start(kept) and (kept / "train.log").is_file()
