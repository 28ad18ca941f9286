"""Contracts every path and sampler config must honour, run over every YAML in the groups."""

from __future__ import annotations

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from flowdiff.config.settings import resolve_settings
from flowdiff.model.module import GenerativeModule
from flowdiff.networks import MLP
from flowdiff.paths.base import PathSample
from tests.helpers.config import CONFIG_DIR

PATHS = sorted((CONFIG_DIR / "model" / "path").glob("*.yaml"))
SAMPLERS = sorted((CONFIG_DIR / "model" / "sampler").glob("*.yaml"))


def build(yaml_file, sampling_steps: int = 4):
    """The object a ``model/path`` or ``model/sampler`` file builds, its shortcuts resolved."""
    group = yaml_file.parent.name
    node = {"model": {group: OmegaConf.load(yaml_file)}}
    cfg = OmegaConf.merge({"sampling_steps": sampling_steps}, node)
    return instantiate(resolve_settings(cfg).model[group])


@pytest.mark.parametrize("path_file", PATHS, ids=lambda p: p.stem)
@pytest.mark.parametrize("shape", [(2,), (1, 8, 8)])
def test_path_sample_contract(path_file, shape):
    path = build(path_file)
    if hasattr(path, "bind_network"):  # a mean flow's target needs the network
        path.bind_network(MLP(data_shape=list(shape), hidden=16, depth=1))
    x_1 = torch.randn(5, *shape)
    drawn = path.sample(x_1)
    assert isinstance(drawn, PathSample)
    assert drawn.x_t.shape == x_1.shape and drawn.target.shape == x_1.shape
    assert drawn.t.shape in {(5,), (5, 2)}  # one time, or a mean flow's pair (t, s)
    assert drawn.weight is None or drawn.weight.shape == (5,)
    assert path.predict_x1(drawn.target, drawn.x_t, drawn.t).shape == x_1.shape
    assert path.family in {"flow_matching", "diffusion", "mean_flow"}


@pytest.mark.parametrize("path_file", PATHS, ids=lambda p: p.stem)
@pytest.mark.parametrize("sampler_file", SAMPLERS, ids=lambda p: p.stem)
def test_every_sampler_serves_its_family_and_refuses_the_other(path_file, sampler_file):
    path, sampler = build(path_file), build(sampler_file)
    network = MLP(data_shape=[2], hidden=16, depth=1)
    if sampler.family != path.family:
        with pytest.raises(ValueError, match=type(path).__name__):
            GenerativeModule(network, path, sampler, data_shape=[2])
        return
    model = GenerativeModule(network, path, sampler, data_shape=[2])
    out = model.generate(num_samples=7, generator=torch.Generator().manual_seed(0))
    assert out.x.shape == (7, 2)
    assert torch.isfinite(out.x).all()
    assert out.nfe >= 1
    again = model.generate(num_samples=7, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out.x, again.x), "a seeded generator must make sampling reproducible"


@pytest.mark.parametrize("sampler_file", SAMPLERS, ids=lambda p: p.stem)
def test_every_sampler_takes_sampling_steps_as_steps(sampler_file):
    sampler = build(sampler_file, sampling_steps=3)
    assert sampler.hparams["steps"] == 3


def test_sample_config_offers_every_sampler_option():
    offered = set(OmegaConf.load(CONFIG_DIR / "sample.yaml").model.sampler)
    for sampler_file in SAMPLERS:
        options = set(build(sampler_file).hparams)
        assert options <= offered, f"sample.yaml lacks {options - offered} of {sampler_file.stem}"
