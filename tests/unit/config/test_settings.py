"""One name per setting: shortcuts fill their home keys, renamed keys still work with one
deprecation line, and errors name what the user typed (flowdiff.config.settings)."""

from __future__ import annotations

import warnings

import pytest
from omegaconf import OmegaConf

from flowdiff.components import describe
from flowdiff.config.settings import SHORTCUTS, resolve_settings, spelled_as_typed
from flowdiff.errors import FlowdiffDeprecationWarning
from flowdiff.samplers import DiffusersSampler
from tests.helpers.config import CONFIG_DIR, compose_config


@pytest.mark.parametrize(
    ("override", "key", "expected"),
    [
        ("sampling_steps=9", "model.sampler.steps", 9),
        ("multistep=3", "trainer.accumulate_grad_batches", 3),
        ("coupling=ot", "model.path.coupling", "ot"),
        ("ema_decay=0.5", "callbacks.ema.decay", 0.5),
    ],
)
def test_a_shortcut_fills_its_home_key(tmp_path, override, key, expected):
    cfg = compose_config("train", [override], output_dir=tmp_path)
    assert OmegaConf.select(cfg, key) == expected


def test_the_home_key_given_outright_wins_over_the_shortcut(tmp_path):
    overrides = ["sampling_steps=9", "model.sampler.steps=3"]
    cfg = compose_config("train", overrides, output_dir=tmp_path)
    assert cfg.model.sampler.steps == 3


def test_a_missing_home_node_is_left_alone(tmp_path):
    cfg = compose_config("train_hf_diffusion", ["coupling=ot", "callbacks.ema=null"], tmp_path)
    assert "coupling" not in cfg.model.path and cfg.callbacks.ema is None


def test_every_shortcut_home_is_null_in_the_group_configs():
    """The value lives in one place: a group config that set it would hide the shortcut."""
    files = {"model.sampler.steps": ["model/sampler/ode.yaml", "model/sampler/torchdyn.yaml",
             "model/sampler/diffusers.yaml", "model/sampler/mean_flow.yaml"],
             "trainer.accumulate_grad_batches": ["trainer/default.yaml"], "model.path.coupling":
             ["model/path/flow_matching.yaml", "model/path/mean_flow.yaml"],
             "callbacks.ema.decay": ["callbacks/ema.yaml"],
             "model.path.time_sampling": ["model/path/flow_matching.yaml"],
             "model.sampler.grid_power": ["model/sampler/ode.yaml"]}  # fmt: skip
    assert set(files) == {home for home, _ in SHORTCUTS.values()}
    for home, names in files.items():
        for name in names:
            node = OmegaConf.load(CONFIG_DIR / name)
            leaf = home.rpartition(".")[2]
            value = node.get(leaf, "absent") if leaf in node else node.get("ema", {}).get(leaf)
            assert value is None, f"{name} sets {leaf}={value!r}"


def test_the_old_diffusers_key_still_works_with_one_warning(tmp_path):
    with pytest.warns(FlowdiffDeprecationWarning, match="num_inference_steps is deprecated"):
        cfg = compose_config(
            "train_hf_diffusion", ["model.sampler.num_inference_steps=13"], output_dir=tmp_path
        )
    assert cfg.model.sampler.steps == 13 and "num_inference_steps" not in cfg.model.sampler


def test_an_unused_old_key_says_nothing(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", FlowdiffDeprecationWarning)
        cfg = compose_config("train_hf_diffusion", [], output_dir=tmp_path)
    assert cfg.model.sampler.steps == 20


def test_the_old_sampler_argument_still_works_and_is_stored_as_steps():
    with pytest.warns(FlowdiffDeprecationWarning, match="use steps"):
        sampler = DiffusersSampler("ddim", num_inference_steps=7)
    assert sampler.steps == 7
    assert describe(sampler)["steps"] == 7 and "num_inference_steps" not in describe(sampler)


def test_resolving_twice_changes_nothing(tmp_path):
    cfg = compose_config("train", ["sampling_steps=6"], output_dir=tmp_path)
    before = OmegaConf.to_yaml(cfg.model)
    assert OmegaConf.to_yaml(resolve_settings(cfg).model) == before


def test_an_error_names_the_shortcut_the_user_typed():
    cfg = OmegaConf.create({"sampling_steps": 0, "model": {"sampler": {"steps": 0}}})
    message = "model.sampler.steps=0 must be an integer >= 1; use model.sampler.steps=20 or more"
    assert spelled_as_typed(message, cfg) == (
        "sampling_steps=0 must be an integer >= 1; use sampling_steps=20 or more"
    )
    other = OmegaConf.create({"sampling_steps": 4})
    assert spelled_as_typed(message, other) == message
