"""Damaged files are refused on load with one message naming the file; writes that hit a full
disk leave the previous file and say so in one line."""

from __future__ import annotations

import errno
import json
import os

import pytest
import torch

from flowdiff.checkpoints import atomic_io
from flowdiff.checkpoints.atomic_io import TEMP_PREFIX, AtomicCheckpointIO, atomic_torch_save
from flowdiff.checkpoints.integrity import check_safetensors, read_json_config
from flowdiff.checkpoints.reading import read_checkpoint
from flowdiff.errors import DamagedFileError, DiskFullError, OutputError
from tests.helpers.cli import record_python_error


def flip(path, count: int = 64) -> None:
    """Flip ``count`` bytes in the middle of ``path`` (inside the large tensor's data)."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + count] = bytes(b ^ 0xFF for b in data[middle : middle + count])
    path.write_bytes(bytes(data))


@pytest.fixture
def ckpt(tmp_path):
    path = tmp_path / "last.ckpt"
    torch.save({"flowdiff": {"format": 2}, "state_dict": {"w": torch.arange(20_000.0)}}, path)
    return path


def test_flipped_bytes_inside_a_weight_tensor_are_refused_naming_the_file(ckpt):
    flip(ckpt)
    # torch itself loads the damaged file without a word: the weights are silently wrong
    damaged = torch.load(ckpt, weights_only=True)["state_dict"]["w"]
    assert not torch.equal(damaged, torch.arange(20_000.0))
    with pytest.raises(DamagedFileError, match=r"last\.ckpt.*is damaged: the CRC of") as info:
        read_checkpoint(ckpt)
    record_python_error(info.value)
    with pytest.raises(DamagedFileError, match=r"last\.ckpt"):  # resuming through Lightning too
        AtomicCheckpointIO().load_checkpoint(ckpt)


def test_sound_checkpoint_still_loads(ckpt):
    assert read_checkpoint(ckpt)["state_dict"]["w"][-1] == 19_999


def test_truncated_or_altered_safetensors_and_broken_json(tmp_path):
    from safetensors.torch import save_file

    weights = tmp_path / "model.safetensors"
    save_file({"w": torch.arange(100.0)}, weights)
    check_safetensors(weights)
    weights.write_bytes(weights.read_bytes()[:-10])
    with pytest.raises(DamagedFileError, match=r"model\.safetensors.*truncated"):
        check_safetensors(weights)
    save_file({"w": torch.arange(100.0)}, weights)
    with pytest.raises(DamagedFileError, match="SHA-256 differs"):
        check_safetensors(weights, digest="0" * 64)
    (tmp_path / "config.json").write_text('{"network": ')
    with pytest.raises(DamagedFileError, match=r"config\.json.*not valid JSON"):
        read_json_config(tmp_path / "config.json")
    (tmp_path / "config.json").write_text(json.dumps([1, 2]))
    with pytest.raises(DamagedFileError, match="not an object"):
        read_json_config(tmp_path / "config.json")


def _fills_the_disk(obj, file):
    file.write(b"PK\x03\x04 part of a checkpoint")
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_disk_full_while_saving_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    target = tmp_path / "last.ckpt"
    atomic_torch_save({"step": 1}, target)
    monkeypatch.setattr(atomic_io.torch, "save", _fills_the_disk)
    with pytest.raises(DiskFullError) as info:
        atomic_torch_save({"step": 2}, target)
    message = str(info.value)
    record_python_error(info.value)
    assert isinstance(info.value, (OutputError, OSError)) and len(message.splitlines()) == 1
    assert "last.ckpt" in message and "nothing was lost" in message and "unchanged" in message
    monkeypatch.undo()
    assert torch.load(target, weights_only=True) == {"step": 1}
    assert not list(tmp_path.glob(f"{TEMP_PREFIX}*"))


def test_disk_full_as_torch_reports_it_is_recognised(tmp_path, monkeypatch):
    """torch.save raises a RuntimeError whose context is the OSError."""

    def another_failure(obj, file):
        raise RuntimeError("[enforce fail at inline_container.cc:672] unexpected pos")

    def with_context(obj, file):
        try:
            _fills_the_disk(obj, file)
        except OSError:
            raise RuntimeError("[enforce fail at inline_container.cc:672] unexpected pos")  # noqa: B904

    monkeypatch.setattr(atomic_io.torch, "save", with_context)
    with pytest.raises(DiskFullError, match="nothing was lost: no partial file was left"):
        atomic_torch_save({"step": 2}, tmp_path / "new.ckpt")
    assert not (tmp_path / "new.ckpt").exists()
    monkeypatch.setattr(atomic_io.torch, "save", another_failure)
    with pytest.raises(RuntimeError, match="enforce fail"):  # no OSError behind it: not disk full
        atomic_torch_save({"step": 2}, tmp_path / "new.ckpt")
