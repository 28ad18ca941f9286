"""Atomic checkpoint writes, SIGTERM and crashes save last.ckpt, resuming continues, and a run
folder only ever grows."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest
import torch
from lightning import Callback

from flowdiff.checkpoints import atomic_io as atomic_checkpoint
from flowdiff.checkpoints.atomic_io import TEMP_PREFIX, AtomicCheckpointIO, atomic_torch_save
from flowdiff.cli import train as train_cli
from flowdiff.training import build
from tests.helpers.cli import cli
from tests.helpers.config import TINY
from tests.helpers.faults import SendSignal

RUN = ["experiment=toy2d", "max_epochs=2", "trainer.limit_train_batches=4"]
RUN += ["callbacks.sample_figures=null", "model.network.hidden=32"]


def test_a_crash_mid_write_leaves_the_old_file_whole(tmp_path, monkeypatch):
    target = tmp_path / "last.ckpt"
    atomic_torch_save({"step": 1}, target)

    def dies_halfway(obj, file):
        file.write(b"PK\x03\x04 half a checkpoint")
        raise KeyboardInterrupt  # the process is interrupted in the middle of torch.save

    monkeypatch.setattr(atomic_checkpoint.torch, "save", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        atomic_torch_save({"step": 2}, target)
    monkeypatch.undo()
    assert torch.load(target, weights_only=True) == {"step": 1}
    assert not list(tmp_path.glob(f"{TEMP_PREFIX}*"))


def test_a_temp_file_left_by_sigkill_is_removed_by_the_next_save(tmp_path):
    stale = tmp_path / f"{TEMP_PREFIX}epoch003.ckpt.abc123"
    stale.write_bytes(b"partial")
    atomic_torch_save({"step": 3}, tmp_path / "last.ckpt")
    assert not stale.exists()
    assert torch.load(tmp_path / "last.ckpt", weights_only=True) == {"step": 3}


def test_trainer_uses_the_atomic_weights_only_checkpoint_io(make_config):
    _, _, trainer = build(make_config("train", *RUN))
    checkpoint_io = trainer.strategy.checkpoint_io
    assert isinstance(checkpoint_io, AtomicCheckpointIO) and not checkpoint_io.trust_checkpoint
    _, _, trusted = build(make_config("train", *RUN, "trust_checkpoint=true"))
    assert trusted.strategy.checkpoint_io.trust_checkpoint


def fit(make_config, *overrides, extra=(), ckpt_path=None):
    datamodule, model, trainer = build(make_config("train", *RUN, *overrides))
    trainer.callbacks.extend(extra)
    trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path)
    return trainer


def test_sigterm_saves_last_ckpt_and_resume_continues(make_config):
    with pytest.raises(SystemExit) as info:  # Lightning's SIGTERMException
        fit(make_config, extra=[SendSignal(at_step=6, signum=signal.SIGTERM)])
    last = Path(info.value.flowdiff_checkpoint)
    assert last.name == "last.ckpt" and info.value.flowdiff_step == 6
    saved = torch.load(last, weights_only=True)
    assert saved["global_step"] == 6
    resumed = fit(make_config, "max_epochs=3", ckpt_path=last)
    assert resumed.global_step == 12 and resumed.current_epoch == 3


class Crash(Callback):
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step == 5:
            raise RuntimeError("simulated crash")


def test_a_crash_saves_last_ckpt(make_config):
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(make_config, extra=[Crash()])
    last = Path(make_config().hydra.runtime.output_dir) / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True)["global_step"] == 5


def test_an_error_before_training_writes_no_checkpoint(make_config, tmp_path):
    with pytest.raises(ValueError, match=r"^data_dir="):
        fit(make_config, "data=digits", f"data.data_dir={tmp_path / 'nope'}")
    assert not list(Path(make_config().hydra.runtime.output_dir).glob("checkpoints/*.ckpt"))


def test_cli_sigterm_exits_143_with_how_to_resume(capsys, monkeypatch, tmp_path):
    args = [*TINY, *RUN, f"hydra.run.dir={tmp_path / 'run'}"]
    args += [
        "+callbacks.term._target_=tests.helpers.faults.SendSignal",
        "+callbacks.term.at_step=3",
    ]
    code, err = cli(train_cli.main, args, capsys, monkeypatch, tmp_path)
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    assert code == 143
    assert f"stopped by SIGTERM at step 3; saved {last}. Resume with ckpt_path={last}" in err
    assert "Traceback" not in err


def test_resume_appends_to_the_run_folder(make_config):
    first = fit(make_config, "max_epochs=1")
    folder = Path(first.default_root_dir)
    before = {p: p.stat().st_size for p in folder.rglob("*") if p.is_file()}
    fit(make_config, "max_epochs=2", ckpt_path=folder / "checkpoints" / "last.ckpt")
    after = {p: p.stat().st_size for p in folder.rglob("*") if p.is_file()}
    events = [p for p in before if "tfevents" in p.name]
    assert events and all(after[p] >= before[p] for p in events), "TensorBoard logs kept"
    assert len([p for p in after if "tfevents" in p.name]) > len(events)


def test_resume_into_the_same_folder_keeps_the_earlier_hydra_record(capsys, monkeypatch, tmp_path):
    run = tmp_path / "run"
    args = [*TINY, *RUN, "max_epochs=1", f"hydra.run.dir={run}"]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["flowdiff-train", *args])
    train_cli.main()
    first = (run / ".hydra" / "overrides.yaml").read_text()
    resume = [*args, "max_epochs=2", f"ckpt_path={run / 'checkpoints' / 'last.ckpt'}"]
    monkeypatch.setattr(sys, "argv", ["flowdiff-train", *resume])
    train_cli.main()
    kept = list(run.glob(".hydra-*/overrides.yaml"))
    assert len(kept) == 1 and kept[0].read_text() == first
    assert "ckpt_path" in (run / ".hydra" / "overrides.yaml").read_text()
