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
from flowdiff.samplers.diffusers import compatible_schedulers
from flowdiff.training import build
from tests.helpers.config import TINY, compose_config

#: every other scheduler flowdiff samples with (~4 s each: the default run keeps a few of each
#: kind, the slow run all), and those plain DDPMPipeline drives
FAST = {"dpmsolver++", "EulerDiscreteScheduler", "HeunDiscreteScheduler", "DPMSolverSDEScheduler"}
EXPORTED = [
    name if name in FAST else pytest.param(name, marks=pytest.mark.slow)
    for name in ["dpmsolver++", "dpmsolver", *compatible_schedulers()]
]
PLAIN = {"ddpm", "ddim", "dpmsolver++", "DPMSolverSinglestepScheduler"}
SCALED = {"EulerDiscreteScheduler", "HeunDiscreteScheduler", "DEISMultistepScheduler"}


def unet_model(
    sampler_type: str = "ddpm", prediction_type="epsilon", options=None, **unet
) -> GenerativeModule:
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
    path = DiffusionPath(num_train_timesteps=100, clip_sample=True, prediction_type=prediction_type)
    if prediction_type == "v_prediction":  # a small v keeps every scheduler's samples in range
        network.unet.conv_out.weight.data.mul_(0.1)
    model = GenerativeModule(
        network, path, DiffusersSampler(sampler_type, 10, scheduler_options=options), [1, 8, 8]
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


@pytest.mark.parametrize("sampler_type", ["ddpm", "ddim", *EXPORTED])
def test_diffusers_pipeline_samples_what_flowdiff_samples(sampler_type, tmp_path, offline):
    # DPMSolverSDEScheduler draws its noise from its own seed, not from the generator
    options = {"noise_sampler_seed": 5} if sampler_type == "DPMSolverSDEScheduler" else {}
    model = unet_model(sampler_type, prediction_type="v_prediction", options=options)
    exported = to_diffusers_pipeline(model, scheduler=sampler_type, **options)
    exported.save_pretrained(tmp_path / "pipeline")
    # a local folder: no network; plain DDPMPipeline wherever it can drive the scheduler
    pipeline = type(exported).from_pretrained(tmp_path / "pipeline")
    if sampler_type in PLAIN or sampler_type in SCALED:
        assert (type(exported) is DDPMPipeline) == (sampler_type in PLAIN)
    pipeline.set_progress_bar_config(disable=True)

    generator = torch.Generator().manual_seed(3)
    theirs = pipeline(4, generator, num_inference_steps=10, output_type="pt").images
    ours = model.sample(4, generator=torch.Generator().manual_seed(3))
    ours = (model.normalizer.normalize(ours) / 2 + 0.5).clamp(0, 1)  # the pipeline's units

    assert theirs.shape == ours.shape == (4, 1, 8, 8)
    inside = ((ours > 0.01) & (ours < 0.99)).float().mean()
    assert inside > 0.2, inside  # many pixels are not clamped: the match says something
    torch.testing.assert_close(theirs, ours, rtol=0, atol=1e-4)


def test_pipeline_export_refuses_what_diffusers_cannot_run():
    with pytest.raises(ValueError, match=r"unconditional U-Net.*num_classes=10"):
        to_diffusers_pipeline(unet_model(num_classes=10))
    with pytest.raises(ValueError, match="sampler_type='euler'; choose one of"):
        to_diffusers_pipeline(unet_model(), "euler")
    flow = GenerativeModule(MLP([2], hidden=8, depth=1), FlowMatchingPath(), ODESampler(), [2])
    with pytest.raises(ValueError, match=r"needs a U-Net on a diffusion path.*save_pretrained"):
        to_diffusers_pipeline(flow)
