"""``flowdiff-train experiment=reflow`` (and ``experiment=mean_flow``) ``teacher_ckpt=...``
compose and run (tiny limits)."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import torch

from flowdiff.checkpoints.loading import load_model
from flowdiff.checkpoints.reading import read_checkpoint
from flowdiff.cli import train as train_cli
from tests.helpers.cli import error_line, train
from tests.helpers.config import TINY


def _train_ok(folder: Path, overrides: list[str], monkeypatch) -> Path:
    """Run ``flowdiff-train`` in-process with the tiny settings; returns its last checkpoint."""
    folder.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(folder)
    args = ["flowdiff-train", *TINY, f"hydra.run.dir={folder / 'run'}", *overrides]
    monkeypatch.setattr(sys, "argv", args)
    with contextlib.suppress(SystemExit):  # a clean exit (code 0) is checked below
        train_cli.main()
    return folder / "run" / "checkpoints" / "last.ckpt"


def test_reflow_trains_a_one_step_student_from_a_teacher(monkeypatch, tmp_path):
    teacher_ckpt = _train_ok(tmp_path / "teacher", [], monkeypatch)
    student_ckpt = _train_ok(
        tmp_path / "student", ["experiment=reflow", f"teacher_ckpt={teacher_ckpt}"], monkeypatch
    )
    student = read_checkpoint(student_ckpt)
    record = student["flowdiff"]
    assert record["path"]["coupling"]["checkpoint"] == str(teacher_ckpt)
    assert record["sampler"]["method"] == "euler"  # (steps: the tiny settings give 2)
    assert student["hyper_parameters"]["guidance_scale"] == 1.0
    # the student loads (its path rebuilds the coupling, which loads no teacher) and samples
    out = load_model(student_ckpt).model.generate(cond=torch.arange(3))
    assert out.x.shape == (3, 1, 8, 8) and out.nfe == 2  # (the tiny settings: 2 steps)


def test_reflow_without_a_teacher_says_which_key_is_missing(capsys, monkeypatch, tmp_path):
    code, err = train(["experiment=reflow"], capsys, monkeypatch, tmp_path)
    assert code == 1
    assert "teacher_ckpt" in error_line(err)


def test_mean_flow_distils_a_teacher_into_a_one_jump_student(monkeypatch, tmp_path):
    teacher_ckpt = _train_ok(tmp_path / "teacher", [], monkeypatch)
    overrides = ["experiment=mean_flow", f"teacher_ckpt={teacher_ckpt}", "sampling_steps=1"]
    student_ckpt = _train_ok(tmp_path / "student", overrides, monkeypatch)
    record = read_checkpoint(student_ckpt)["flowdiff"]
    assert record["path"]["_target_"] == "flowdiff.paths.MeanFlowPath"
    assert record["path"]["teacher"]["checkpoint"] == str(teacher_ckpt)
    out = load_model(student_ckpt).model.generate(cond=torch.arange(3))
    assert out.x.shape == (3, 1, 8, 8) and out.nfe == 1
