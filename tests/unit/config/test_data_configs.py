"""Data configs describe data; what a data kind needs beside it is a preset the data config
selects visibly (configs/preset/), so `flowdiff-train data=digits` says where its network,
guidance and coupling come from."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from tests.helpers.config import CONFIG_DIR

DATA = sorted((CONFIG_DIR / "data").glob("*.yaml"))
PRESETS = sorted((CONFIG_DIR / "preset").glob("*.yaml"))


def keys_outside_data(file) -> list[str]:
    """Top-level keys that are not arguments of the datamodule (or its defaults list)."""
    text = file.read_text()
    if "@package _global_" in text:
        return ["@package _global_"]
    node = OmegaConf.load(file)
    return [str(k) for k in node if str(k) in {"model", "trainer", "callbacks", "data"}]


@pytest.mark.parametrize("file", DATA, ids=lambda f: f.stem)
def test_a_data_config_describes_data_only(file):
    assert keys_outside_data(file) == []
    assert str(OmegaConf.load(file)._target_).startswith("flowdiff.data.")


@pytest.mark.parametrize("preset", PRESETS, ids=lambda f: f.stem)
def test_every_preset_is_selected_by_its_data_config(preset):
    data = OmegaConf.load(CONFIG_DIR / "data" / preset.name)
    assert {"/preset@_global_": preset.stem} in list(data.defaults)


def test_the_check_sees_a_hidden_preset(tmp_path):
    hidden = tmp_path / "hidden.yaml"
    hidden.write_text("# @package _global_\ndata:\n  _target_: flowdiff.data.X\n")
    assert keys_outside_data(hidden) == ["@package _global_"]
    nested = tmp_path / "nested.yaml"
    nested.write_text("_target_: flowdiff.data.X\nmodel:\n  cond_drop_prob: 0.1\n")
    assert keys_outside_data(nested) == ["model"]
