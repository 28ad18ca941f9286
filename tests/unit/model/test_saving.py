"""One way to save and one to load, mirrored on GenerativeModule: a ``.ckpt`` or a Hugging Face
folder, each read back into a model that samples the same (flowdiff.model.saving)."""

from __future__ import annotations

import pytest
import torch

from flowdiff import GenerativeModule
from flowdiff.model.loading import load_model
from flowdiff.networks import MLP
from flowdiff.paths import DiffusionPath, FlowMatchingPath
from flowdiff.samplers import DiffusersSampler, ODESampler


def tiny(family: str) -> GenerativeModule:
    torch.manual_seed(0)
    network = MLP(data_shape=[2], hidden=8, depth=1)
    if family == "flow_matching":
        return GenerativeModule(network, FlowMatchingPath(), ODESampler("midpoint", 2), [2])
    return GenerativeModule(network, DiffusionPath(), DiffusersSampler("ddim", steps=3), [2])


def draw(model: GenerativeModule) -> torch.Tensor:
    return model.sample(num_samples=3, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("family", ["flow_matching", "diffusion"])
@pytest.mark.parametrize("name", ["model.ckpt", "model_folder"])
def test_save_then_load_gives_the_same_samples(tmp_path, family, name):
    model = tiny(family).eval()
    path = model.save(tmp_path / name)
    loaded = GenerativeModule.load(path)
    assert (
        type(loaded.sampler) is type(model.sampler) and loaded.sampler.steps == model.sampler.steps
    )
    torch.testing.assert_close(draw(loaded), draw(model))


def test_a_saved_checkpoint_reads_as_a_trained_one(tmp_path):
    """What flowdiff-sample and flowdiff-eval load: the same record and weights."""
    model = tiny("flow_matching").eval()
    loaded = load_model(model.save(tmp_path / "saved.ckpt"))
    assert loaded.weights == "raw (no EMA saved)"
    torch.testing.assert_close(draw(loaded.model), draw(model))


def test_load_takes_another_sampler_for_both_kinds(tmp_path):
    model = tiny("flow_matching")
    for path in (model.save(tmp_path / "a.ckpt"), model.save(tmp_path / "a")):
        loaded = GenerativeModule.load(path, sampler=ODESampler("euler", 5))
        assert loaded.sampler.method == "euler" and loaded.sampler.steps == 5


def test_the_old_spellings_are_the_same_route(tmp_path):
    model = tiny("flow_matching").eval()
    ckpt, folder = model.save(tmp_path / "m.ckpt"), model.save(tmp_path / "m")
    expected = draw(model)
    torch.testing.assert_close(draw(GenerativeModule.load_from_checkpoint(ckpt)), expected)
    torch.testing.assert_close(draw(GenerativeModule.from_pretrained(folder)), expected)
