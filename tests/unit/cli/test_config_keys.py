"""Library errors name arguments; the command line puts the config key in front of them."""

from __future__ import annotations

import pytest
import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import OmegaConf

from flowdiff.cli.config_keys import with_config_keys
from flowdiff.cli.errors import user_message

CFG = OmegaConf.create(
    {
        "data": {"_target_": "flowdiff.data.DigitsDataModule", "shape": [1, 16, 16]},
        "model": {
            "_target_": "flowdiff.model.GenerativeModule",
            "path": {"_target_": "flowdiff.paths.FlowMatchingPath", "t_max": 2.0},
            "lr_scheduler": {
                "_target_": "flowdiff.optim.cosine",
                "_partial_": True,
                "warmup_ratio": 1.5,
            },
        },
    }
)


def _cli_line(error: Exception) -> str:
    return with_config_keys(user_message(error), error, CFG)


def test_a_constructor_error_gets_hydras_full_key():
    with pytest.raises(InstantiationException) as info:
        instantiate(CFG.model.path)
    assert str(info.value.__cause__).startswith("t_max=2.0 must lie in (0, 1]")
    assert _cli_line(info.value).startswith("model.path.t_max=2.0 must lie in (0, 1]")


def test_an_error_after_building_gets_the_key_of_the_object_that_raised_it():
    datamodule = instantiate(CFG.data)
    with pytest.raises(ValueError) as info:
        datamodule.setup("fit")  # the digits are [1, 8, 8]
    assert "but shape=[1, 16, 16]; set shape=[1, 8, 8]" in str(info.value)
    assert "but data.shape=[1, 16, 16]; set data.shape=[1, 8, 8]" in _cli_line(info.value)


def test_a_partial_function_gets_its_own_key():
    schedule = instantiate(CFG.model.lr_scheduler)
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError) as info:
        schedule(optimizer, 100)
    assert _cli_line(info.value).startswith("model.lr_scheduler.warmup_ratio=1.5")


def test_python_literals_after_a_config_key_are_spelt_as_overrides():
    datamodule = instantiate(CFG.data)
    datamodule.data_dir = "/nowhere"  # DigitsDataModule: data_dir=None uses the embedded digits
    with pytest.raises(Exception) as info:
        datamodule.setup("fit")
    assert "set data_dir=None to use" in str(info.value)
    assert "set data.data_dir=null to use" in _cli_line(info.value)


def test_words_that_are_not_arguments_and_unknown_sources_stay_as_they_are():
    error = ValueError("shape=[2] came from elsewhere; the optimizer.")
    assert with_config_keys(str(error), error, CFG) == str(error)  # not raised by a config object
    assert with_config_keys("t_max=2", error, None) == "t_max=2"
