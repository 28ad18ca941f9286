"""Resuming under a changed optimizer or schedule: refused before training with one line saying
what changed, the run's .hydra/ record and checkpoints untouched; resume_weights_only=true starts
a new run from the checkpoint's weights with a fresh optimizer."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from flowdiff.checkpoints.run_folders import run_dir
from flowdiff.cli import train as train_cli
from tests.helpers.cli import cli, error_line
from tests.helpers.config import TINY

RUN = ["callbacks.sample_figures=null", "experiment=toy2d"]


def _train(folder: Path, extra, capsys, monkeypatch, tmp_path):
    args = [*TINY, *RUN, f"hydra.run.dir={folder}", *extra]
    return cli(train_cli.main, args, capsys, monkeypatch, tmp_path)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory) -> Path:
    """A finished one-epoch run (AdamW, cosine schedule), kept read-only by the tests."""
    folder = tmp_path_factory.mktemp("first") / "run"
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(sys, "argv", ["flowdiff-train", *TINY, *RUN, f"hydra.run.dir={folder}"])
    monkeypatch.delenv("FLOWDIFF_DEBUG", raising=False)
    try:
        train_cli.main()
    except SystemExit as exit_:
        assert not exit_.code
    finally:
        monkeypatch.undo()
    return folder


def _copy_run(first_run: Path, tmp_path: Path) -> Path:
    import shutil

    run = tmp_path / "run"
    shutil.copytree(first_run, run)
    return run


CHANGES = {
    "optimizer changed": (
        ["model/optimizer=sgd"],
        ["optimizer torch.optim.adamw.AdamW -> torch.optim.sgd.SGD", "resume_weights_only=true"],
    ),
    "schedule changed": (
        ["model/lr_scheduler=step"],
        ["lr_scheduler flowdiff.optim.cosine -> flowdiff.optim.step", ".hydra/config.yaml"],
    ),
}


@pytest.mark.parametrize("case", sorted(CHANGES))
def test_changed_optimizer_or_schedule_is_refused_before_training(
    case, first_run, capsys, monkeypatch, tmp_path
):
    run = _copy_run(first_run, tmp_path)
    record = (run / ".hydra" / "config.yaml").read_text()
    last = (run / "checkpoints" / "last.ckpt").read_bytes()
    extra, words = CHANGES[case]
    resume = [*extra, "max_epochs=2", f"ckpt_path={run / 'checkpoints' / 'last.ckpt'}"]
    code, err = _train(run, resume, capsys, monkeypatch, tmp_path)
    line = error_line(err)
    assert code == 1
    for word in words:
        assert word in line, line
    # the run's record is the one it was trained with, and nothing else changed
    assert (run / ".hydra" / "config.yaml").read_text() == record
    assert not list(run.glob(".hydra-*"))
    assert (run / "checkpoints" / "last.ckpt").read_bytes() == last


def test_older_checkpoint_without_the_record_is_compared_by_its_state(
    first_run, capsys, monkeypatch, tmp_path
):
    run = _copy_run(first_run, tmp_path)
    ckpt = run / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(ckpt, weights_only=False)
    del checkpoint["flowdiff"]["optimizer"]
    torch.save(checkpoint, ckpt)
    code, err = _train(
        run, ["model/optimizer=sgd", f"ckpt_path={ckpt}"], capsys, monkeypatch, tmp_path
    )
    line = error_line(err)
    assert code == 1 and "optimizer (settings" in line and "momentum" in line, line


def test_resume_weights_only_starts_fresh_from_the_weights(
    first_run, capsys, monkeypatch, tmp_path
):
    ckpt = first_run / "checkpoints" / "last.ckpt"
    before = ckpt.read_bytes()
    new = tmp_path / "new"
    extra = ["model/optimizer=sgd", "resume_weights_only=true", f"ckpt_path={ckpt}"]
    monkeypatch.chdir(tmp_path)
    args = [*TINY, *RUN, f"hydra.run.dir={new}", *extra]
    monkeypatch.setattr(sys, "argv", ["flowdiff-train", *args])
    train_cli.main()  # finishes without SystemExit
    saved = torch.load(new / "checkpoints" / "last.ckpt", weights_only=False)
    assert saved["global_step"] == 2  # a fresh step counter: 1 epoch x 2 batches
    assert "momentum_buffer" in saved["optimizer_states"][0]["state"][0]  # SGD's state
    assert saved["flowdiff"]["optimizer"]["optimizer"].endswith("SGD")
    assert ckpt.read_bytes() == before  # the earlier run is untouched


def test_resume_weights_only_needs_a_file_and_gets_its_own_folder(capsys, monkeypatch, tmp_path):
    code, err = _train(tmp_path / "x", ["resume_weights_only=true"], capsys, monkeypatch, tmp_path)
    assert code == 1 and "resume_weights_only=true needs ckpt_path=<file>.ckpt" in error_line(err)
    ckpt = "outputs/old/checkpoints/last.ckpt"
    assert run_dir("outputs/new", ckpt, "train", True) == "outputs/new"
    assert run_dir("outputs/new", ckpt, "train", False) == "outputs/old"
