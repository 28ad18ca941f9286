"""from_pretrained: local paths stay local (a missing one fails at once), Hub ids go to the Hub,
damaged folders are refused naming the file; save_pretrained never leaves half a folder."""

from __future__ import annotations

import errno
import json
import os
import shutil
import time

import pytest
import torch

from flowdiff.errors import CheckpointError, DamagedFileError, DiskFullError, ModelNotFoundError
from flowdiff.model.module import GenerativeModule
from flowdiff.model.pretrained_files import resolve_model_id
from flowdiff.networks import MLP
from flowdiff.paths import FlowMatchingPath
from flowdiff.samplers import ODESampler
from tests.helpers.cli import record_python_error


@pytest.fixture
def offline(monkeypatch):
    """Any attempt to reach the Hub fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("tried to download from the Hub")

    monkeypatch.setattr("flowdiff.model.hub.hf_hub_download", refuse)
    monkeypatch.setattr("huggingface_hub.hub_mixin.hf_hub_download", refuse)


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = GenerativeModule(MLP([2], hidden=16, depth=1), FlowMatchingPath(), ODESampler(), [2])
    model.save_pretrained(tmp_path / "hf")
    return model, tmp_path / "hf"


def test_local_looking_names_never_reach_the_hub(tmp_path, monkeypatch, offline):
    monkeypatch.chdir(tmp_path)
    for name in ["my_model", "./a/b", "../x", "/abs/model", "~/m", "a/b/c", "org/model.ckpt"]:
        start = time.perf_counter()
        with pytest.raises(ModelNotFoundError, match="no such folder"):
            GenerativeModule.from_pretrained(name)
        assert time.perf_counter() - start < 5  # at once: no Hub retries
    (tmp_path / "runs").mkdir()
    with pytest.raises(ModelNotFoundError, match="no such folder"):  # runs/ is a local folder
        GenerativeModule.from_pretrained("runs/model")
    (tmp_path / "owner" / "name").mkdir(parents=True)
    assert resolve_model_id("owner/name") == ("owner/name", True)  # exists: local
    assert resolve_model_id("someone/model") == ("someone/model", False)  # a Hub id


def test_hub_id_that_cannot_be_fetched_is_one_error(monkeypatch):
    from huggingface_hub.errors import LocalEntryNotFoundError

    def unreachable(*args, **kwargs):
        raise LocalEntryNotFoundError("offline and not in the cache")

    monkeypatch.setattr("huggingface_hub.hub_mixin.hf_hub_download", unreachable)
    monkeypatch.setattr("flowdiff.model.hub.hf_hub_download", unreachable)
    with pytest.raises((ModelNotFoundError, CheckpointError), match="someone/model"):
        GenerativeModule.from_pretrained("someone/model")


def _damage(folder, how):
    weights, config = folder / "model.safetensors", folder / "config.json"
    if how == "truncated weights":
        weights.write_bytes(weights.read_bytes()[:-100])
    elif how == "altered weights":
        data = bytearray(weights.read_bytes())
        data[-64:] = bytes(b ^ 0xFF for b in data[-64:])
        weights.write_bytes(bytes(data))
    elif how == "broken config.json":
        config.write_text(config.read_text()[:40])
    elif how == "config.json of another width":
        record = json.loads(config.read_text())
        record["network"]["hidden"] = 32
        config.write_text(json.dumps(record))
    elif how == "config.json naming no class":
        record = json.loads(config.read_text())
        record["network"]["_target_"] = "flowdiff.networks.Nope"
        config.write_text(json.dumps(record))


DAMAGE = {
    "truncated weights": (DamagedFileError, ["model.safetensors", "truncated"]),
    "altered weights": (DamagedFileError, ["model.safetensors", "SHA-256 differs"]),
    "broken config.json": (DamagedFileError, ["config.json", "not valid JSON"]),
    "config.json of another width": (
        CheckpointError,
        ["config.json", "weights (16, 128) vs config.json (32, 128)", "restore config.json"],
    ),
    "config.json naming no class": (CheckpointError, ["the network in config.json", "Nope"]),
}


@pytest.mark.parametrize("how", sorted(DAMAGE))
def test_damaged_folder_is_refused_naming_the_file(how, saved, offline):
    _, folder = saved
    _damage(folder, how)
    kind, words = DAMAGE[how]
    with pytest.raises(kind) as info:
        GenerativeModule.from_pretrained(folder)
    record_python_error(info.value)
    message = str(info.value)
    assert len(message.splitlines()) == 1, message
    for word in words:
        assert word in message, message


def test_save_pretrained_replaces_a_folder_whole_and_a_full_disk_changes_nothing(
    saved, monkeypatch, offline
):
    model, folder = saved
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with torch.no_grad():
        model.network.input.weight.add_(1.0)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("flowdiff.model.hub.save_model", full)
    with pytest.raises(DiskFullError, match="nothing was lost") as info:
        model.save_pretrained(folder)
    record_python_error(info.value)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert [p.name for p in folder.parent.iterdir()] == ["hf"]  # no temporary folder left
    monkeypatch.undo()
    model.save_pretrained(folder)
    loaded = GenerativeModule.from_pretrained(folder)
    assert torch.equal(loaded.network.input.weight, model.network.input.weight)
    shutil.rmtree(folder)
