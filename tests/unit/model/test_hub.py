"""Hugging Face interop: save_pretrained / from_pretrained with no network, and a U-Net diffusion
model exported to a diffusers DDPMPipeline that samples what flowdiff samples."""

from __future__ import annotations

import json

import pytest
import torch
from diffusers import DDPMPipeline
from safetensors.torch import load_file

from flowdiff.model.diffusers_export import to_diffusers_pipeline
from flowdiff.model.module import GenerativeModule
from flowdiff.networks import MLP, UNet
from flowdiff.paths import DiffusionPath, FlowMatchingPath
from flowdiff.samplers import DiffusersSampler, ODESampler
from flowdiff.training import build
from tests.helpers.config import TINY, compose_config


def unet_model(sampler_type: str = "ddpm", **unet) -> GenerativeModule:
    torch.manual_seed(0)
    network = UNet(
        [1, 8, 8],
        block_out_channels=[8, 16],
        attention=[False, True],
        layers_per_block=1,
        norm_num_groups=4,
        **unet,
    )
    # clip_sample keeps a random network's samples inside [-1, 1], so the comparison below is
    # not between two images clamped flat to 0 and 1
    path = DiffusionPath(num_train_timesteps=100, clip_sample=True)
    model = GenerativeModule(
        network, path, DiffusersSampler(sampler_type, 10), data_shape=[1, 8, 8]
    )
    model.normalizer.shift.fill_(8.0)  # digits' range [0, 16] to [-1, 1]
    model.normalizer.scale.fill_(8.0)
    return model.eval()


@pytest.fixture
def offline(monkeypatch):
    """Any attempt to reach the Hub fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("tried to download from the Hub")

    monkeypatch.setattr("flowdiff.model.hub.hf_hub_download", refuse)
    monkeypatch.setattr("huggingface_hub.hub_mixin.hf_hub_download", refuse)


def test_trained_model_round_trips_through_save_pretrained(tmp_path, offline):
    out = tmp_path / "run"
    cfg = compose_config("train", [*TINY, "callbacks.sample_figures=null"], output_dir=out)
    datamodule, model, trainer = build(cfg)
    trainer.fit(model, datamodule=datamodule)
    trained = GenerativeModule.load_from_checkpoint(out / "checkpoints" / "last.ckpt")
    trained.save_pretrained(tmp_path / "hf")

    assert {"model.safetensors", "config.json", "README.md"} <= {
        p.name for p in (tmp_path / "hf").iterdir()
    }
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert config["network"]["_target_"] == "flowdiff.networks.CNN"
    assert config["path"]["_target_"] == "flowdiff.paths.FlowMatchingPath"
    assert config["sampler"]["steps"] == 2 and config["data_shape"] == [1, 8, 8]
    weights = load_file(tmp_path / "hf" / "model.safetensors")
    assert "normalizer.scale" in weights  # the data's statistics travel with the weights

    loaded = GenerativeModule.from_pretrained(tmp_path / "hf")
    assert not loaded.training
    for name, value in trained.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[name]), name
    labels = torch.arange(4)
    a = trained.sample(cond=labels, generator=torch.Generator().manual_seed(0))
    b = loaded.sample(cond=labels, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_from_pretrained_takes_another_sampler_and_refuses_a_foreign_folder(tmp_path, offline):
    model = GenerativeModule(MLP([2], hidden=16, depth=1), FlowMatchingPath(), ODESampler(), [2])
    model.save_pretrained(tmp_path / "hf")
    loaded = GenerativeModule.from_pretrained(tmp_path / "hf", sampler=ODESampler("rk4", 3))
    assert loaded.sampler.method == "rk4" and loaded.sampler.steps == 3
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "config.json").write_text('{"hidden_size": 3}')
    with pytest.raises(ValueError, match=r"no flowdiff config\.json naming the network"):
        GenerativeModule.from_pretrained(tmp_path / "other")


@pytest.mark.parametrize("sampler_type", ["ddpm", "ddim"])
def test_diffusers_pipeline_samples_what_flowdiff_samples(sampler_type, tmp_path, offline):
    model = unet_model(sampler_type)
    to_diffusers_pipeline(model, sampler_type).save_pretrained(tmp_path / "pipeline")
    pipeline = DDPMPipeline.from_pretrained(tmp_path / "pipeline")  # a local folder: no network
    pipeline.set_progress_bar_config(disable=True)

    generator = torch.Generator().manual_seed(3)
    theirs = pipeline(4, generator, num_inference_steps=10, output_type="pt").images
    ours = model.sample(4, generator=torch.Generator().manual_seed(3))
    ours = (model.normalizer.normalize(ours) / 2 + 0.5).clamp(0, 1)  # the pipeline's units

    assert theirs.shape == ours.shape == (4, 1, 8, 8)
    inside = ((ours > 0.01) & (ours < 0.99)).float().mean()
    assert inside > 0.5, inside  # most pixels are not clamped: the match says something
    torch.testing.assert_close(theirs, ours, rtol=0, atol=1e-5)


def test_pipeline_export_refuses_what_diffusers_cannot_run():
    with pytest.raises(ValueError, match=r"unconditional U-Net.*num_classes=10"):
        to_diffusers_pipeline(unet_model(num_classes=10))
    with pytest.raises(ValueError, match="DDPMPipeline can only drive ddpm or ddim"):
        to_diffusers_pipeline(unet_model(), "EulerDiscreteScheduler")
    flow = GenerativeModule(MLP([2], hidden=8, depth=1), FlowMatchingPath(), ODESampler(), [2])
    with pytest.raises(ValueError, match=r"needs a U-Net on a diffusion path.*save_pretrained"):
        to_diffusers_pipeline(flow)
