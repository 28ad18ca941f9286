"""The commands users type compose the same run as before the settings and presets changed
(issue 21): configs saved by the code of that time (tests/fixtures/composed_v0/make.py) against
today's, with the documented renames applied to the old ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowdiff.config.settings import RENAMED
from tests.fixtures.composed_v0.make import COMMANDS, composed

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "composed_v0"


def renamed(config: dict) -> dict:
    """``config`` with every key of :data:`RENAMED` moved to its new name."""
    for old, new in RENAMED.items():
        if "." not in old:
            continue
        *head, leaf = old.split(".")
        node = config
        for part in head:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and leaf in node:
            node[new.rpartition(".")[2]] = node.pop(leaf)
    return config


def differences(old, new, key: str = "") -> list[str]:
    """Keys of the old config whose values differ in the new one, as ``key: old -> new``. Keys
    added since (new options, each with the default that keeps the old behaviour) are left out."""
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for k in sorted(old):
            found += differences(old[k], new.get(k, "<absent>"), f"{key}.{k}")
        return found
    return [] if old == new else [f"{key}: {old!r} -> {new!r}"]


#: defaults changed on purpose since the fixtures were written (the only differences allowed)
CHANGED_DEFAULTS = [
    # issue 24: v-prediction, with which no diffusers scheduler gets worse with more steps
    ".model.path.prediction_type: 'epsilon' -> 'v_prediction'",
    ".model.path.rescale_betas_zero_snr: '<absent>' -> False",  # issue 24: a new option, off
    ".model.path.clip_sample: True -> False",  # issue 24: clipping made DDIM worse on the digits
    ".model.clip_samples: False -> True",  # issue 24: the scenes clamp their samples instead
    # the same sampler (None means no options); an empty {} refused scheduler_options={k: v}
    ".model.sampler.scheduler_options: {} -> None",
    # issue 26: per-pixel standardisation keeps the digits' blank border blank
    ".data.normalization: 'range' -> 'standard'",
    # issue 26: the digits' learning rate, on the full-sample judge (both families)
    ".base_lr: 0.002 -> 0.004",
    ".model.optimizer.lr: 0.002 -> 0.004",
]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_commands_compose_the_same_run_as_before(name):
    config_name, overrides = COMMANDS[name]
    before = renamed(json.loads((FIXTURES / f"{name}.json").read_text()))
    now = composed(config_name, overrides)
    assert [d for d in differences(before, now) if d not in CHANGED_DEFAULTS] == []


def test_the_comparison_sees_a_changed_value():
    before = json.loads((FIXTURES / "train.json").read_text())
    now = json.loads((FIXTURES / "train.json").read_text())
    now["model"]["sampler"]["steps"] += 1
    del now["model"]["path"]["coupling"]
    now["added_since"] = True
    assert differences(before, now) == [
        ".model.path.coupling: 'ot' -> '<absent>'",
        ".model.sampler.steps: 4 -> 5",
    ]
