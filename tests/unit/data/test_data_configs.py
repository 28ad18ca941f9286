"""The data configs compose with the presets and train a step, as the README's commands do."""

from __future__ import annotations

import numpy as np
import pytest

from flowdiff.data.demo_events import write_events
from flowdiff.data.demo_scenes import write_scenes
from flowdiff.sbi.tasks.linear_gaussian import LinearGaussian, write_pairs
from flowdiff.training import build, train

FAST = ["trainer.fast_dev_run=true", "batch_size=4"]


@pytest.mark.parametrize("preset", ["train_fb_flow_matching", "train_hf_diffusion"])
def test_npz_scenes_train_a_dit_with_image_context(make_config, tmp_path, preset):
    write_scenes(tmp_path / "scenes", 8, size=32)
    cfg = make_config(
        preset,
        "data=npz",
        f"data.data_dir={tmp_path / 'scenes'}",
        "data.image_size=16",
        "model/network=dit_debug",
        *FAST,
    )
    _, model, _ = build(cfg)
    assert type(model.network).__name__ == "DiT"
    assert model.network.cond.in_channels == 8, "5 context + 2 grid + 1 noisy channels"
    assert train(cfg)["train/loss"] > 0


def test_data_npz_picks_the_dit_unless_told_otherwise(make_config):
    assert make_config("train", "data=npz").model.network._target_ == "flowdiff.networks.DiT"
    cfg = make_config("train", "data=npz", "model/network=cnn")
    assert cfg.model.network._target_ == "flowdiff.networks.CNN"


@pytest.mark.parametrize("network", ["cnn", "mlp"])
def test_hdf5_events_train_with_vector_labels(make_config, tmp_path, network):
    file = write_events(tmp_path / "events.h5", 40, n_sensors=16)
    cfg = make_config(
        "train_hf_diffusion",
        "data=hdf5",
        f"data.file={file}",
        "data.shape=[2,16]",
        "data.geometry_keys=[xpmt,ypmt,zpmt]",
        f"model/network={network}",
        *FAST,
    )
    if network != "mlp":
        cfg.model.network.hidden = 16
    assert train(cfg)["train/loss"] > 0


@pytest.mark.parametrize("network", ["tokens", "mlp"])
def test_arrays_train_a_posterior_model(make_config, tmp_path, network):
    file = write_pairs(tmp_path / "pairs.npz", LinearGaussian.random(3, 5), 64)
    cfg = make_config(
        "train_fb_flow_matching",
        "data=arrays",
        f"data.file={file}",
        "data.shape=[3]",
        "data.cond_shape=[5]",
        f"model/network={network}",
        "model.cond_drop_prob=0.2",
        "model.guidance_scale=2.0",
        *FAST,
    )
    assert train(cfg)["train/loss"] > 0


def test_arrays_token_convention(make_config, tmp_path):
    file = tmp_path / "tokens.npz"
    rng = np.random.default_rng(0)
    np.savez(file, x=rng.normal(size=(32, 3, 1)), cond=rng.normal(size=(32, 4, 2)))
    cfg = make_config(
        "train",
        "data=arrays",
        f"data.file={file}",
        "data.shape=[3,1]",
        "data.cond_shape=[4,2]",
        "model/network=tokens",
        *FAST,
    )
    assert train(cfg)["train/loss"] > 0


SCENE_PRESETS = ["train_scenes_fb_flow_matching", "train_scenes_hf_diffusion"]


@pytest.mark.parametrize("preset", SCENE_PRESETS)
def test_scene_presets_train_on_demo_scenes(make_config, preset):
    cfg = make_config(
        preset, "data.image_size=16", "data.demo_scenes=12", "model/network=dit_debug", *FAST
    )
    assert cfg.data.data_dir is None and cfg.model.network.add_coord_grid
    assert train(cfg)["train/loss"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("preset", SCENE_PRESETS)
def test_scene_presets_at_full_size(make_config, preset):
    assert train(make_config(preset, "trainer.fast_dev_run=true"))["train/loss"] > 0
