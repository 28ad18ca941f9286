"""Diffusion checkpoints written before issue 24 changed the defaults load and sample as they did.

``tests/fixtures/diffusion_v0`` holds a tiny epsilon / cosine / leading checkpoint made with
flowdiff at commit 272fd00 (``make_fixture.py`` there says how) and the samples it gave then: its
stored schedule and prediction type must win over whatever the defaults are now.
"""

from pathlib import Path

import pytest
import torch

from flowdiff.checkpoints.loading import load_model
from flowdiff.model.module import GenerativeModule
from flowdiff.samplers import DiffusersSampler

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "diffusion_v0"
SAMPLERS = {"own": None, "ddim10": ("ddim", 10), "ddim50": ("ddim", 50)}


@pytest.fixture(scope="module")
def expected() -> dict[str, torch.Tensor]:
    return torch.load(FIXTURE / "expected_samples.pt")


def _loaded(kind: str) -> GenerativeModule:
    if kind == "ckpt":
        return load_model(FIXTURE / "last.ckpt").model
    return GenerativeModule.from_pretrained(FIXTURE / "pretrained")


@pytest.mark.parametrize("kind", ["ckpt", "pretrained"])
def test_old_checkpoint_keeps_its_schedule_and_prediction_type(kind):
    model = _loaded(kind)
    config = model.path.scheduler_config
    assert model.path.prediction_type == "epsilon"
    assert config["beta_schedule"] == "squaredcos_cap_v2"
    assert config["timestep_spacing"] == "leading"
    assert not config.get("rescale_betas_zero_snr", False)
    assert float(model.path.scheduler.alphas_cumprod[-1]) < 1e-8  # the old cosine tail
    assert model.sampler.sampler_type == "dpmsolver++"


@pytest.mark.parametrize("kind", ["ckpt", "pretrained"])
@pytest.mark.parametrize("name", list(SAMPLERS))
def test_old_checkpoint_samples_as_it_did(kind, name, expected):
    model = _loaded(kind).eval()
    spec = SAMPLERS[name]
    sampler = DiffusersSampler(*spec) if spec else None
    with torch.no_grad():
        x = model.generate(16, sampler=sampler, generator=torch.Generator().manual_seed(0)).x
    torch.testing.assert_close(x, expected[name], rtol=1e-4, atol=1e-4)
