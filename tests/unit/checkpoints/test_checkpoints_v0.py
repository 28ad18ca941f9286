"""Checkpoints and Hugging Face folders written before issue 21 (tests/fixtures/checkpoints_v0,
made by its make.py with the code of that time) load with today's code and sample the same."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from flowdiff.model import GenerativeModule

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "checkpoints_v0"
EXPECTED = np.load(FIXTURES / "samples.npz")


def draw(model: GenerativeModule, conditional: bool) -> np.ndarray:
    cond = torch.from_numpy(EXPECTED["cond"]) if conditional else None
    generator = torch.Generator().manual_seed(0)
    return model.sample(num_samples=4, cond=cond, generator=generator).numpy()


@pytest.mark.parametrize("name", ["flow_matching", "diffusion"])
def test_an_old_checkpoint_loads_and_samples_the_same(name):
    model = GenerativeModule.load_from_checkpoint(FIXTURES / f"{name}.ckpt")
    np.testing.assert_allclose(draw(model, name == "flow_matching"), EXPECTED[name], atol=1e-5)


def test_an_old_hub_folder_loads_and_samples_the_same():
    model = GenerativeModule.from_pretrained(FIXTURES / "hub_flow_matching")
    expected = EXPECTED["hub_flow_matching"]
    np.testing.assert_allclose(draw(model, True), expected, atol=1e-5)


@pytest.mark.parametrize("name", ["flow_matching.ckpt", "diffusion.ckpt", "hub_flow_matching"])
def test_load_reads_every_old_kind(name):
    model = GenerativeModule.load(FIXTURES / name)
    expected = EXPECTED[name.removesuffix(".ckpt")]
    np.testing.assert_allclose(draw(model, "flow_matching" in name), expected, atol=1e-5)


def test_the_samples_depend_on_the_weights():
    """The comparison can fail: other weights give other samples."""
    model = GenerativeModule.load_from_checkpoint(FIXTURES / "flow_matching.ckpt")
    with torch.no_grad():
        next(model.network.parameters()).add_(0.5)
    assert not np.allclose(draw(model, True), EXPECTED["flow_matching"], atol=1e-5)
