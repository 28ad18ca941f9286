"""Checkpoints of one moment written once: the second save of the same epoch and step into the
same folder is a hard link to the first file."""

from __future__ import annotations

import torch

from flowdiff.checkpoints.atomic_io import TEMP_PREFIX, AtomicCheckpointIO, atomic_link


def checkpoint(epoch: int, step: int) -> dict:
    return {"epoch": epoch, "global_step": step, "state_dict": {"w": torch.full((3,), step)}}


def test_the_second_save_of_a_moment_links_the_first_file(tmp_path):
    io = AtomicCheckpointIO()
    best, last = tmp_path / "epoch000-val_loss1.0000.ckpt", tmp_path / "last.ckpt"
    io.save_checkpoint(checkpoint(0, 10), best)
    io.save_checkpoint(checkpoint(0, 10), last)
    assert best.stat().st_ino == last.stat().st_ino
    assert torch.equal(io.load_checkpoint(last)["state_dict"]["w"], torch.full((3,), 10))
    assert not list(tmp_path.glob(f"{TEMP_PREFIX}*"))


def test_a_later_moment_is_written_in_full_and_replaces_last(tmp_path):
    io = AtomicCheckpointIO()
    best, last = tmp_path / "best.ckpt", tmp_path / "last.ckpt"
    io.save_checkpoint(checkpoint(0, 10), best)
    io.save_checkpoint(checkpoint(0, 10), last)
    io.save_checkpoint(checkpoint(1, 20), last)  # no new best: last.ckpt alone, in full
    assert best.stat().st_ino != last.stat().st_ino
    assert io.load_checkpoint(best)["global_step"] == 10
    assert io.load_checkpoint(last)["global_step"] == 20
    best.unlink()  # the best-k callback dropping an old file leaves last.ckpt whole
    assert io.load_checkpoint(last)["global_step"] == 20


def test_the_same_moment_in_another_folder_is_written_in_full(tmp_path):
    io = AtomicCheckpointIO()
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    io.save_checkpoint(checkpoint(0, 10), tmp_path / "a" / "last.ckpt")
    io.save_checkpoint(checkpoint(0, 10), tmp_path / "b" / "last.ckpt")
    assert (tmp_path / "a" / "last.ckpt").stat().st_ino != (
        tmp_path / "b" / "last.ckpt"
    ).stat().st_ino


def test_a_link_that_cannot_be_made_changes_nothing(tmp_path):
    target = tmp_path / "last.ckpt"
    target.write_bytes(b"old")
    assert not atomic_link(tmp_path / "missing.ckpt", target)
    assert target.read_bytes() == b"old"
    assert not list(tmp_path.glob(f"{TEMP_PREFIX}*"))
