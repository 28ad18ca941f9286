"""Training to convergence or to a budget: data=arrays stops on the validation loss and puts the
best weights back; max_time stops on the wall clock; both say why in events.jsonl."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from flowdiff.training import build
from flowdiff.training.callbacks.records import stop_reason

QUIET = [
    "callbacks.sample_figures=null",
    "callbacks.lr_monitor=null",
    "~logger",
    "trainer.limit_train_batches=null",
]


def _pairs(tmp_path, count=128):
    """Parameters independent of the observations: the loss soon stops improving."""
    rng = np.random.default_rng(0)
    file = tmp_path / "pairs.npz"
    np.savez(file, x=rng.normal(size=(count, 2)), cond=rng.normal(size=(count, 3)))
    return file


def _events(tmp_path):
    lines = (tmp_path / "run" / "events.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def _fit(cfg):
    torch.manual_seed(cfg.seed)
    datamodule, model, trainer = build(cfg)
    trainer.fit(model, datamodule=datamodule)
    return model, trainer


def test_arrays_stop_on_a_plateaued_val_loss_and_restore_the_best_weights(make_config, tmp_path):
    cfg = make_config(
        "train",
        "data=arrays",
        f"data.file={_pairs(tmp_path)}",
        "data.shape=[2]",
        "data.cond_shape=[3]",
        "model.network.hidden=16",
        "model.network.depth=1",
        "batch_size=32",
        "base_lr=3e-2",
        "max_epochs=200",
        "callbacks.early_stopping.patience=4",
        "seed=0",
        *QUIET,
    )
    assert cfg.callbacks.early_stopping.restore_best  # the data=arrays default
    model, trainer = _fit(cfg)
    events = _events(tmp_path)
    end = events[-1]
    assert end["event"] == "end" and end["reason"].startswith("EarlyStopping"), end
    assert trainer.current_epoch < 200
    val = [e["val/loss"] for e in events if e["event"] == "validation"]
    best_epoch = int(np.argmin(val))
    # Stopped `patience` validations after the best one, which is not the last.
    assert len(val) - 1 - best_epoch == 4
    best = trainer.checkpoint_callback.best_model_path
    assert f"epoch{best_epoch:03d}" in best
    assert float(trainer.checkpoint_callback.best_model_score) == pytest.approx(min(val), abs=1e-6)
    restored = torch.load(best, weights_only=False)["state_dict"]
    last = torch.load(tmp_path / "run/checkpoints/last.ckpt", weights_only=False)["state_dict"]
    state = model.state_dict()
    assert all(torch.equal(state[k], restored[k]) for k in restored)
    assert not all(torch.equal(last[k], restored[k]) for k in restored)
    assert stop_reason(trainer) == end["reason"]


def test_validation_loss_uses_the_same_noise_every_time(make_config, tmp_path):
    cfg = make_config(
        "train", "data=arrays", f"data.file={_pairs(tmp_path)}", "data.shape=[2]",
        "data.cond_shape=[3]", "model.network.hidden=16",
    )  # fmt: skip
    datamodule, model, _ = build(cfg)
    datamodule.setup("fit")
    batch = next(iter(datamodule.val_dataloader()))
    model.log = lambda *args, **kwargs: None
    first = model.validation_step(batch, 0)
    torch.rand(10)  # the global generator moves on; validation does not follow it
    assert torch.equal(model.validation_step(batch, 0), first)
    assert not torch.equal(model.validation_step(batch, 1), first)


def test_max_time_stops_training_and_says_so(make_config, tmp_path):
    cfg = make_config(
        "train",
        "data=arrays",
        f"data.file={_pairs(tmp_path, 4096)}",
        "data.shape=[2]",
        "data.cond_shape=[3]",
        "model.network.hidden=16",
        "batch_size=8",
        "max_epochs=1000",
        "max_time=00:00:00:02",
        *QUIET,
    )
    assert cfg.trainer.max_time == "00:00:00:02"
    _, trainer = _fit(cfg)
    assert trainer.current_epoch < 1000
    end = _events(tmp_path)[-1]
    assert end["reason"].startswith("max_time reached"), end
