"""The override names users of the train_fb_flow_matching / train_hf_diffusion presets type
compose verbatim and land where users expect."""

from __future__ import annotations

import pytest
from hydra.utils import instantiate

from flowdiff.config import compose_config

FM = "train_fb_flow_matching"
DIFF = "train_hf_diffusion"


@pytest.mark.parametrize(
    ("config_name", "override", "key", "expected"),
    [
        (FM, "batch_size=128", "data.batch_size", 128),
        (FM, "base_lr=5e-5", "model.optimizer.lr", 5e-5),
        (FM, "max_epochs=500", "trainer.max_epochs", 500),
        (FM, "data.data_dir=/path/to/data", "data.data_dir", "/path/to/data"),
        (FM, "ckpt_path=/path/to/checkpoint.ckpt", "ckpt_path", "/path/to/checkpoint.ckpt"),
        (FM, "model.sampler.method=dopri5", "model.sampler.method", "dopri5"),
        (FM, "model.path.scheduler=cosine", "model.path.scheduler", "cosine"),
        (FM, "sampling_steps=20", "model.sampler.steps", 20),
        (DIFF, "model.sampler.sampler_type=ddpm", "model.sampler.sampler_type", "ddpm"),
        (DIFF, "model.path.beta_schedule=linear", "model.path.beta_schedule", "linear"),
        (DIFF, "sampling_steps=20", "model.sampler.steps", 20),
        # as docs/sampling.md writes it (an empty {} default refused the new key)
        (
            DIFF,
            "model.sampler.scheduler_options={clip_sample:false}",
            "model.sampler.scheduler_options.clip_sample",
            False,
        ),
        (FM, "trainer.devices=4", "trainer.devices", 4),
        (FM, "max_time=00:00:02:00", "trainer.max_time", "00:00:02:00"),
    ],
)
def test_seed_override_lands(tmp_path, config_name, override, key, expected):
    cfg = compose_config(config_name, [override], output_dir=tmp_path)
    value = cfg
    for part in key.split("."):
        value = value[part]
    assert value == expected


@pytest.mark.parametrize("config_name", [FM, DIFF, "train"])
def test_multi_gpu_preset_composes(tmp_path, config_name):
    cfg = compose_config(config_name, ["trainer=multi_gpu", "trainer.devices=4"], tmp_path)
    assert cfg.trainer.devices == 4
    assert cfg.trainer.strategy.static_graph is True
    assert cfg.trainer.strategy.find_unused_parameters is False
    assert cfg.trainer.sync_batchnorm is True
    strategy = instantiate(cfg.trainer.strategy)
    assert type(strategy).__name__ == "DDPStrategy"


@pytest.mark.parametrize(
    ("config_name", "overrides"),
    [
        (FM, ["model.sampler.method=dopri5"]),
        (FM, ["model.path.scheduler=cosine"]),
        (FM, ["model.path.scheduler=polynomial", "model.path.exponent=3"]),
        (DIFF, ["model.sampler.sampler_type=ddpm"]),
        (DIFF, ["model.sampler.sampler_type=dpmsolver++"]),
        (DIFF, ["model.path.beta_schedule=linear", "sampling_steps=20"]),
        (DIFF, ["model.path.prediction_type=v_prediction"]),
    ],
)
def test_seed_override_builds_the_model(tmp_path, config_name, overrides):
    cfg = compose_config(config_name, overrides, output_dir=tmp_path)
    model = instantiate(cfg.model)
    out = model.sample(num_samples=3, cond=None)
    assert out.shape == (3, *cfg.data.shape)


def test_sampler_mismatch_is_refused_when_the_config_is_built(tmp_path):
    cfg = compose_config(DIFF, ["model/sampler=ode"], output_dir=tmp_path)
    with pytest.raises(Exception, match="ODESampler samples flow_matching paths"):
        instantiate(cfg.model)


@pytest.mark.parametrize("data", ["digits", "toy2d"])
def test_diffusion_neither_clips_nor_predicts_epsilon_by_default(tmp_path, data):
    """Issue 24: v-prediction, and no clipping inside DDIM's steps (on the digits it took DDIM x 50
    from pixel C2ST 0.58 to 0.88); a user can still turn clipping on."""
    cfg = compose_config(DIFF, [f"data={data}"], output_dir=tmp_path)
    assert cfg.model.path.clip_sample is False
    assert cfg.model.path.prediction_type == "v_prediction"
    cfg = compose_config(DIFF, [f"data={data}", "model.path.clip_sample=true"], output_dir=tmp_path)
    assert cfg.model.path.clip_sample is True
