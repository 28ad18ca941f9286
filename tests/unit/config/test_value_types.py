"""A config value of the wrong type for its flowdiff constructor is refused by key before
anything is built (it used to fail inside torch)."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from flowdiff.config.value_types import accepted_types, check_value_types, fits, spelled
from flowdiff.errors import ConfigError


@pytest.mark.parametrize(
    "annotation, accepted",
    [
        (int, (int,)),
        (int | None, (int, type(None))),
        (float | str, (float, str)),
        (list[int], None),  # not a scalar: left to the class
        (int | list[int], None),
    ],
)
def test_scalar_annotations_are_read(annotation, accepted):
    assert accepted_types(annotation) == accepted


@pytest.mark.parametrize(
    "value, accepted, ok",
    [
        (3, (int,), True),
        (3, (float,), True),  # an int serves a float
        (3.5, (int,), False),
        ("abc", (int,), False),
        (True, (int,), False),  # a bool is not a count
        (True, (bool,), True),
        (1, (bool,), False),
        (None, (int, type(None)), True),
    ],
)
def test_values_fit_their_types(value, accepted, ok):
    assert fits(value, accepted) is ok


def network(**values):
    return OmegaConf.create(
        {"model": {"network": {"_target_": "flowdiff.networks.MLP", "data_shape": [2], **values}}}
    )


def test_a_word_for_a_count_is_refused_by_key_with_the_default():
    wanted = r"model\.network\.hidden='wide' must be a whole number.*hidden=256"
    with pytest.raises(ConfigError, match=wanted):
        check_value_types(network(hidden="wide"))


def test_right_types_interpolations_and_foreign_targets_pass():
    check_value_types(network(hidden=64, dropout=0))  # an int for a float
    cfg = OmegaConf.create(
        {
            "width": 64,
            "model": {"network": {"_target_": "flowdiff.networks.MLP", "hidden": "${width}"}},
        }
    )
    check_value_types(cfg)
    check_value_types(
        OmegaConf.create({"trainer": {"_target_": "lightning.Trainer", "devices": "x"}})
    )
    check_value_types(OmegaConf.create({"x": {"_target_": "flowdiff.no.such.Thing", "a": 1}}))


def test_types_are_spelled_as_yaml_writes_them():
    assert spelled((bool, type(None))) == "true, false or null"
    assert spelled((int,)) == "a whole number"
