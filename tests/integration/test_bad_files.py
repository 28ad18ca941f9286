"""Damaged checkpoints, full disks and missing GPUs through the console scripts: one line naming
the file or device, exit 1, and nothing already written is lost."""

from __future__ import annotations

import errno
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from flowdiff.checkpoints import atomic_io
from flowdiff.cli import sample as sample_cli
from tests.helpers.cli import cli, error_line, train
from tests.helpers.config import TINY

#: what each test gives, for docs/reliability.md's table (tests/helpers/bad_input_table.py)
GIVEN = {
    "test_sampling_a_checkpoint_with_flipped_bytes": (
        "flowdiff-sample ckpt_path=<last.ckpt with 64 bytes flipped inside a weight tensor>"
    ),
    "test_resuming_from_a_checkpoint_with_flipped_bytes": (
        "flowdiff-train ckpt_path=<last.ckpt with 64 bytes flipped>"
    ),
    "test_sampling_onto_a_full_disk_keeps_the_previous_samples": (
        "flowdiff-sample ... output_dir=<folder with samples.npz> (disk full while writing)"
    ),
    "test_disk_full_while_training_writes_a_checkpoint_is_one_line": (
        "flowdiff-train (disk full while writing a checkpoint)"
    ),
    "test_sampling_on_a_gpu_that_is_not_there": "flowdiff-sample ckpt_path=<file> device=cuda",
}
CUDA = "cuda" if not torch.cuda.is_available() else f"cuda:{torch.cuda.device_count()}"


@pytest.fixture(scope="module")
def trained_ckpt(tmp_path_factory) -> Path:
    """``last.ckpt`` of a tiny digits run (flow matching)."""
    from flowdiff.training import build
    from tests.helpers.config import compose_config

    out = tmp_path_factory.mktemp("trained")
    cfg = compose_config("train", [*TINY, "callbacks.sample_figures=null"], output_dir=out)
    datamodule, model, trainer = build(cfg)
    trainer.fit(model, datamodule=datamodule)
    return out / "checkpoints" / "last.ckpt"


def _flipped(trained: Path, folder: Path) -> Path:
    """A copy of ``trained`` with 64 bytes flipped inside its largest tensor: still a zip
    archive that torch loads, but the member's CRC no longer matches."""
    import zipfile

    with zipfile.ZipFile(trained) as archive:
        largest = max(archive.infolist(), key=lambda info: info.file_size)
    data = bytearray(trained.read_bytes())
    offset = largest.header_offset
    name_length, extra_length = struct.unpack("<HH", data[offset + 26 : offset + 30])
    start = offset + 30 + name_length + extra_length + largest.file_size // 2  # inside its data
    data[start : start + 64] = bytes(b ^ 0xFF for b in data[start : start + 64])
    path = folder / "flipped.ckpt"
    path.write_bytes(bytes(data))
    torch.load(path, weights_only=True)  # torch itself does not notice
    return path


def test_sampling_a_checkpoint_with_flipped_bytes(trained_ckpt, capsys, monkeypatch, tmp_path):
    ckpt = _flipped(trained_ckpt, tmp_path)
    args = [f"ckpt_path={ckpt}", "num_samples=2", f"output_dir={tmp_path / 'out'}"]
    code, err = cli(sample_cli.main, args, capsys, monkeypatch, tmp_path)
    line = error_line(err)
    assert code == 1 and "flipped.ckpt" in line and "is damaged: the CRC of" in line, line
    assert not (tmp_path / "out" / "samples.npz").exists()


def test_resuming_from_a_checkpoint_with_flipped_bytes(trained_ckpt, capsys, monkeypatch, tmp_path):
    ckpt = _flipped(trained_ckpt, tmp_path)
    code, err = train([f"ckpt_path={ckpt}"], capsys, monkeypatch, tmp_path)
    line = error_line(err)
    assert code == 1 and "flipped.ckpt" in line and "damaged" in line, line


def test_sampling_onto_a_full_disk_keeps_the_previous_samples(
    trained_ckpt, capsys, monkeypatch, tmp_path
):
    out = tmp_path / "out"
    out.mkdir()
    (out / "samples.npz").write_bytes(b"the previous samples")

    def fills_the_disk(file, **arrays):
        file.write(b"PK\x03\x04 part of an archive")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(np, "savez", fills_the_disk)
    args = [f"ckpt_path={trained_ckpt}", "num_samples=2", f"output_dir={out}"]
    code, err = cli(sample_cli.main, args, capsys, monkeypatch, tmp_path)
    line = error_line(err)
    assert code == 1 and "samples.npz" in line and "disk full" in line, line
    assert "nothing was lost: the previous file is unchanged" in line
    assert (out / "samples.npz").read_bytes() == b"the previous samples"
    assert not list(out.glob(f"{atomic_io.TEMP_PREFIX}*"))


def test_disk_full_while_training_writes_a_checkpoint_is_one_line(capsys, monkeypatch, tmp_path):
    def fills_the_disk(obj, file):
        file.write(b"PK\x03\x04 part of a checkpoint")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic_io.torch, "save", fills_the_disk)
    code, err = train(["callbacks.sample_figures=null"], capsys, monkeypatch, tmp_path)
    line = error_line(err)
    assert code == 1 and ".ckpt" in line and "disk full" in line and "nothing was lost" in line
    assert "Traceback" not in err and len(err.splitlines()) < 60, err[-3000:]


def test_sampling_on_a_gpu_that_is_not_there(trained_ckpt, capsys, monkeypatch, tmp_path):
    args = [f"ckpt_path={trained_ckpt}", "num_samples=2", f"device={CUDA}"]
    code, err = cli(sample_cli.main, args, capsys, monkeypatch, tmp_path)
    line = error_line(err)
    assert code == 1 and f"device='{CUDA}'" in line and "GPU" in line, line
    assert "do not fit" not in line
