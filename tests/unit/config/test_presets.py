"""Smoke runs: every preset and experiment trains a step and draws samples on the CPU."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowdiff.training import train
from tests.helpers.config import CONFIG_DIR

PRESETS = ["train", "train_fb_flow_matching", "train_hf_diffusion"]
EXPERIMENTS = sorted(path.stem for path in (CONFIG_DIR / "experiment").glob("*.yaml"))


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
