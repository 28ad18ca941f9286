"""Smoke runs: every preset and experiment trains a step and draws samples on the CPU."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowdiff.training import train
from tests.helpers.config import CONFIG_DIR

PRESETS = ["train", "train_fb_flow_matching", "train_hf_diffusion"]
#: experiments that need a trained checkpoint, smoke-run by their own tests instead
NEEDS_A_CHECKPOINT = {
    "mean_flow": "tests/unit/distillation/test_reflow_cli.py",
    "reflow": "tests/unit/distillation/test_reflow_cli.py",
}
EXPERIMENTS = sorted(
    path.stem
    for path in (CONFIG_DIR / "experiment").glob("*.yaml")
    if path.stem not in NEEDS_A_CHECKPOINT
)


@pytest.mark.parametrize("config_name", PRESETS)
def test_preset_fast_dev_run(make_config, config_name):
    cfg = make_config(config_name, "trainer.fast_dev_run=true")
    metrics = train(cfg)
    assert metrics["train/loss"] > 0
    assert (Path(cfg.hydra.runtime.output_dir) / "samples" / "final.png").is_file()


@pytest.mark.parametrize("config_name", ["train_fb_flow_matching", "train_hf_diffusion"])
def test_unet_trains_with_both_families(make_config, config_name):
    cfg = make_config(
        config_name,
        "model/network=unet",
        "model.network.block_out_channels=[16,32]",
        "trainer.fast_dev_run=true",
    )
    assert train(cfg)["train/loss"] > 0


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_fast_dev_run(make_config, experiment):
    cfg = make_config("train", f"experiment={experiment}", "trainer.fast_dev_run=true")
    assert train(cfg)["train/loss"] > 0


@pytest.mark.parametrize("sampler", ["ode", "torchdyn"])
def test_flow_matching_trains_with_every_ode_sampler(make_config, sampler):
    cfg = make_config("train", f"model/sampler={sampler}", "trainer.fast_dev_run=true")
    assert train(cfg)["val/loss"] > 0


def test_debug_config_is_fast_dev_run(make_config):
    cfg = make_config("train", "debug=fast")
    assert cfg.trainer.fast_dev_run is True
    assert train(cfg)["train/loss"] > 0


def test_data_configs_pick_what_suits_their_data(make_config):
    """data=digits picks the conv net, guidance and OT pairing for both families; data=arrays
    its small MLP and independent pairing; a command-line override still wins."""
    digits = make_config("train")
    assert digits.model.network._target_.endswith("CNN")
    assert digits.model.path.coupling == "ot" and digits.model.guidance_scale == 1.2
    assert digits.model.path.time_sampling == "logit_normal"  # issue 26: the full-sample judge
    assert digits.model.sampler.grid_power == 2  # shorter steps near the noise, the same judge
    diffusion = make_config("train_hf_diffusion")
    assert (
        diffusion.model.network._target_.endswith("CNN") and "coupling" not in diffusion.model.path
    )
    assert diffusion.model.sampler.sampler_type == "dpmsolver++"
    assert make_config("train", "coupling=independent").model.path.coupling == "independent"
    arrays = make_config("train", "data=arrays", "data.file=x.npz", "data.shape=[2]")
    assert arrays.model.network.hidden == 128 and arrays.model.path.coupling == "independent"
    assert arrays.model.path.time_sampling == "uniform"
    assert arrays.model.sampler.grid_power == 1
    assert make_config("train", "grid_power=1").model.sampler.grid_power == 1
    assert make_config("train", "model.sampler.grid_power=3").model.sampler.grid_power == 3
    uniform = make_config("train", "time_sampling=uniform")  # the shortcut reaches the path
    assert uniform.model.path.time_sampling == "uniform"
    assert make_config("train", "experiment=toy2d").model.path.coupling == "independent"
