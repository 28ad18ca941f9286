"""Both diffusion presets train and sample the way issue 24's measurements chose
(docs/benchmarks.md#diffusion-preset): v-prediction and no clip_sample; DPM-Solver++ x 20 for
train_hf_diffusion, DDIM x 50 (seed 004's sampler, as good without the clip) for the scenes."""

from __future__ import annotations

import pytest

from tests.fixtures.composed_v0.make import composed


@pytest.mark.parametrize(
    "config_name, sampler",
    [("train_hf_diffusion", ("dpmsolver++", 20)), ("train_scenes_hf_diffusion", ("ddim", 50))],
)
def test_diffusion_presets_sample_as_measured(config_name, sampler):
    model = composed(config_name, [])["model"]
    assert model["path"]["prediction_type"] == "v_prediction"
    assert model["path"]["clip_sample"] is False
    assert (model["sampler"]["sampler_type"], model["sampler"]["steps"]) == sampler


def test_scenes_clamp_their_samples_instead_of_each_step():
    assert composed("train_scenes_hf_diffusion", [])["model"]["clip_samples"] is True


def test_the_seed_habit_picks_ddim_x_50():
    overrides = ["model.sampler.sampler_type=ddim", "sampling_steps=50"]
    model = composed("train_hf_diffusion", overrides)["model"]
    assert (model["sampler"]["sampler_type"], model["sampler"]["steps"]) == ("ddim", 50)
    assert model["path"]["clip_sample"] is False
