"""``studies.digits_judge --samplers``: each ``sampler_type:steps`` becomes the diffusers sampler
the checkpoint is judged with (issue 24 chose the diffusion preset's default from such a table)."""

import pytest

from flowdiff.samplers import DiffusersSampler, ODESampler
from studies.digits_judge import own_sampler, parse_sampler


@pytest.mark.parametrize(
    "spec, sampler_type, steps",
    [
        ("dpmsolver++:20", "dpmsolver++", 20),
        ("UniPCMultistepScheduler:7", "UniPCMultistepScheduler", 7),
    ],
)
def test_a_sampler_spec_names_type_and_steps(spec, sampler_type, steps):
    sampler = parse_sampler(spec)
    assert isinstance(sampler, DiffusersSampler)
    assert (sampler.sampler_type, sampler.steps) == (sampler_type, steps)


def test_no_spec_keeps_the_checkpoint_sampler():
    assert parse_sampler(None) is None


def test_a_bad_spec_is_refused():
    with pytest.raises(ValueError):
        parse_sampler("ddim")


def test_sampler_options_are_merged_onto_the_checkpoint_sampler():
    model = type("M", (), {"sampler": ODESampler(method="rk4", steps=3)})()
    sampler = own_sampler(model, {"grid_power": 2})
    assert (sampler.method, sampler.steps, sampler.grid_power) == ("rk4", 3, 2)
    assert own_sampler(model, None) is None
