"""Both diffusion presets train and sample the way issue 24's measurements chose
(docs/benchmarks.md#diffusion-preset): v-prediction, no clip_sample, DPM-Solver++ x 20."""

from __future__ import annotations

import pytest

from tests.fixtures.composed_v0.make import composed


@pytest.mark.parametrize("config_name", ["train_hf_diffusion", "train_scenes_hf_diffusion"])
def test_diffusion_presets_sample_as_measured(config_name):
    model = composed(config_name, [])["model"]
    assert model["path"]["prediction_type"] == "v_prediction"
    assert model["path"]["clip_sample"] is False
    assert (model["sampler"]["sampler_type"], model["sampler"]["steps"]) == ("dpmsolver++", 20)


def test_scenes_clamp_their_samples_instead_of_each_step():
    assert composed("train_scenes_hf_diffusion", [])["model"]["clip_samples"] is True


def test_the_seed_habit_still_picks_ddim():
    model = composed(
        "train_scenes_hf_diffusion", ["model.sampler.sampler_type=ddim", "sampling_steps=50"]
    )["model"]
    assert (model["sampler"]["sampler_type"], model["sampler"]["steps"]) == ("ddim", 50)
