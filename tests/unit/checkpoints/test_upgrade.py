"""Stored component names are public import paths, older full paths are upgraded, and renamed
arguments are mapped (flowdiff.components, flowdiff.checkpoints.upgrade)."""

from __future__ import annotations

import copy
import warnings

import pytest
from hydra.utils import get_object, instantiate
from omegaconf import OmegaConf

from flowdiff.checkpoints.upgrade import RECORD_FORMAT, upgrade, upgrade_parts
from flowdiff.components import ALIASES, COMPONENTS, describe, public_name
from flowdiff.config.settings import resolve_settings
from flowdiff.errors import FlowdiffDeprecationWarning
from tests.helpers.config import CONFIG_DIR

GROUP_FILES = sorted(
    file
    for group in ("network", "path", "sampler")
    for file in (CONFIG_DIR / "model" / group).glob("*.yaml")
)


@pytest.mark.parametrize(("name", "olds"), sorted(COMPONENTS.items()))
def test_every_public_name_and_its_old_paths_import_the_same_class(name, olds):
    cls = get_object(name)
    assert public_name(cls) == name
    assert all(get_object(old) is cls for old in olds)


@pytest.mark.parametrize("file", GROUP_FILES, ids=lambda f: f"{f.parent.name}/{f.stem}")
def test_every_configured_part_is_stored_under_a_registered_name(file):
    cls = get_object(OmegaConf.load(file)._target_)
    assert public_name(cls) in COMPONENTS


def test_describe_stores_the_public_name():
    cfg = OmegaConf.create({"sampling_steps": 2, "model": {"sampler": {"_target_":
                           "flowdiff.samplers.ode.ODESampler", "steps": None}}})  # fmt: skip
    sampler = instantiate(resolve_settings(cfg).model.sampler)
    assert describe(sampler)["_target_"] == "flowdiff.samplers.ODESampler"


def old_record() -> dict:
    return {
        "format": 2,
        "network": {"_target_": "flowdiff.networks.mlp.MLP", "data_shape": [2]},
        "path": {"_target_": "flowdiff.paths.diffusion.DiffusionPath"},
        "sampler": {"_target_": "flowdiff.samplers.diffusers.DiffusersSampler",
                    "sampler_type": "ddim", "num_inference_steps": 3},
    }  # fmt: skip


def test_an_old_record_is_upgraded_to_public_names_and_steps():
    checkpoint = upgrade({"flowdiff": old_record(), "state_dict": {}})
    record = checkpoint["flowdiff"]
    assert record["format"] == RECORD_FORMAT
    assert record["network"]["_target_"] == "flowdiff.networks.MLP"
    assert record["sampler"] == {
        "_target_": "flowdiff.samplers.DiffusersSampler", "sampler_type": "ddim", "steps": 3
    }  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error", FlowdiffDeprecationWarning)
        assert instantiate(record["sampler"]).steps == 3


def test_a_current_record_and_an_unknown_name_pass_unchanged():
    current = upgrade_parts(copy.deepcopy(upgrade({"flowdiff": old_record()})["flowdiff"]))
    assert upgrade_parts(copy.deepcopy(current)) == current
    moved = {"network": {"_target_": "mypackage.nets.Net"}}
    assert upgrade_parts(copy.deepcopy(moved)) == moved
    assert "mypackage.nets.Net" not in ALIASES


def test_a_nested_record_is_upgraded_too():
    coupling = {"_target_": "flowdiff.distillation.teacher_coupling.TeacherCoupling"}
    parts = {
        "path": {"_target_": "flowdiff.paths.flow_matching.FlowMatchingPath", "coupling": coupling}
    }
    path = upgrade_parts(parts)["path"]
    assert path["_target_"] == "flowdiff.paths.FlowMatchingPath"
    assert path["coupling"]["_target_"] == "flowdiff.distillation.TeacherCoupling"
