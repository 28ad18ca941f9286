"""Classifier-free guidance: condition dropout in training, guided mixing in sampling."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from flowdiff.inference import sample
from flowdiff.model.guidance import guided_model
from flowdiff.model.module import GenerativeModule
from flowdiff.networks import CNN, MLP, DiT
from flowdiff.paths import DiffusionPath, FlowMatchingPath
from flowdiff.samplers import DiffusersSampler, ODESampler
from flowdiff.training import train
from tests.helpers.config import compose_config

pytestmark = pytest.mark.filterwarnings("ignore:.*self.trainer.*")

NETWORKS = {
    "labels": (lambda: MLP([4], hidden=16, depth=1, num_classes=3), torch.tensor([0, 2, 1])),
    "vector": (lambda: MLP([4], hidden=16, depth=1, cond_shape=[2]), torch.randn(3, 2)),
    "image": (
        lambda: CNN([1, 8, 8], hidden=8, depth=1, cond_shape=[2, 8, 8], add_coord_grid=True),
        torch.randn(3, 2, 8, 8),
    ),
}
FAMILIES = {
    "flow_matching": lambda: (FlowMatchingPath(), ODESampler("midpoint", steps=3)),
    "diffusion": lambda: (DiffusionPath(num_train_timesteps=50), DiffusersSampler("ddim", 3)),
}


def randomise(net: nn.Module) -> nn.Module:
    """Non-zero weights everywhere (zero-initialised gates would hide the condition)."""
    torch.manual_seed(1)
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.normal_(0, 0.3)
    return net


def model_for(kind: str, family: str, **kwargs) -> tuple[GenerativeModule, torch.Tensor]:
    make, cond = NETWORKS[kind]
    path, sampler = FAMILIES[family]()
    net = randomise(make())
    shape = [4] if kind != "image" else [1, 8, 8]
    return GenerativeModule(net, path, sampler, data_shape=shape, **kwargs).eval(), cond


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("kind", sorted(NETWORKS))
def test_scale_one_equals_plain_conditional_sampling(kind, family):
    model, cond = model_for(kind, family, cond_drop_prob=0.1)
    guided = model.generate(
        cond=cond, guidance_scale=1.0, generator=torch.Generator().manual_seed(0)
    )
    x_init = torch.randn((3, *model.data_shape), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        plain = model.sampler.sample(lambda x, t: model.network(x, t, cond), model.path, x_init)
    assert torch.equal(guided.x, model.normalizer.denormalize(plain.x))
    assert guided.nfe == plain.nfe


@pytest.mark.parametrize("kind", sorted(NETWORKS))
def test_guided_output_mixes_conditional_and_null_outputs_in_one_batch(kind):
    model, cond = model_for(kind, "flow_matching")
    net = model.network
    x, t = torch.randn(3, *model.data_shape), torch.rand(3)
    with torch.no_grad():
        conditional = net(x, t, cond)
        null = net(x, t, None)
        dropped = net(x, t, cond, drop_cond=torch.ones(3, dtype=torch.bool))
        assert torch.allclose(dropped, null, atol=1e-6), "dropping cond must give the null cond"
        assert not torch.allclose(conditional, null, atol=1e-4), "the condition must matter"
        for scale in (0.0, 2.0, 4.0):
            mixed = guided_model(net, cond, scale)(x, t)
            expected = null + scale * (conditional - null)
            assert torch.allclose(mixed, expected, atol=1e-5)


def test_partial_drop_only_nulls_the_chosen_samples():
    model, cond = model_for("image", "flow_matching")
    net, x, t = model.network, torch.randn(3, 1, 8, 8), torch.rand(3)
    drop = torch.tensor([True, False, True])
    with torch.no_grad():
        out = net(x, t, cond, drop_cond=drop)
        assert torch.allclose(out[1], net(x, t, cond)[1], atol=1e-6)
        assert torch.allclose(out[0], net(x, t, None)[0], atol=1e-6)


class Spy(nn.Module):
    """Records the ``drop_cond`` masks it is given."""

    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(4, 4)
        self.masks: list[torch.Tensor | None] = []

    def forward(self, x_t, t, cond=None, drop_cond=None):
        self.masks.append(drop_cond)
        return self.layer(x_t)


def test_training_drops_cond_per_sample_with_the_configured_probability():
    spy = Spy()
    path, sampler = FAMILIES["flow_matching"]()
    model = GenerativeModule(spy, path, sampler, data_shape=[4], cond_drop_prob=0.25)
    torch.manual_seed(0)
    batch = {"x": torch.randn(4000, 4), "cond": torch.zeros(4000, dtype=torch.long)}
    model._shared_step(batch, "train")
    model._shared_step(batch, "val")
    train_mask, val_mask = spy.masks
    assert train_mask.shape == (4000,) and train_mask.dtype == torch.bool
    assert 0.22 < train_mask.float().mean().item() < 0.28
    assert val_mask is None, "validation measures the conditional loss"


class NoDrop(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(2, 2)

    def forward(self, x_t, t, cond=None):
        return self.layer(x_t)


@pytest.mark.parametrize("setting", [{"cond_drop_prob": 0.1}, {"guidance_scale": 2.0}])
def test_a_network_without_drop_cond_is_refused(setting):
    path, sampler = FAMILIES["flow_matching"]()
    with pytest.raises(ValueError, match="drop_cond"):
        GenerativeModule(NoDrop(), path, sampler, data_shape=[2], **setting)


def test_bad_drop_probability_is_refused():
    path, sampler = FAMILIES["flow_matching"]()
    with pytest.raises(ValueError, match=r"^cond_drop_prob=1.0"):
        GenerativeModule(MLP([2]), path, sampler, data_shape=[2], cond_drop_prob=1.0)


def test_module_default_scale_and_per_call_override():
    model, cond = model_for("labels", "diffusion", cond_drop_prob=0.1, guidance_scale=3.0)
    seeded = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    default = model.generate(cond=cond, generator=seeded()).x
    assert torch.equal(default, model.generate(cond=cond, generator=seeded(), guidance_scale=3.0).x)
    plain = model.sample(cond=cond, generator=seeded(), guidance_scale=1.0)
    assert not torch.allclose(plain, default)


def test_guidance_doubles_the_batch_not_the_calls():
    calls = []
    net = randomise(DiT([1, 8, 8], hidden=16, depth=1, heads=2, num_classes=3))
    net.register_forward_hook(lambda module, args, out: calls.append(args[0].shape[0]))
    path, sampler = FAMILIES["flow_matching"]()
    model = GenerativeModule(net, path, sampler, data_shape=[1, 8, 8], cond_drop_prob=0.1)
    out = model.generate(cond=torch.tensor([0, 1]), guidance_scale=2.0)
    assert out.nfe == len(calls) == 6 and set(calls) == {4}


def test_flowdiff_sample_takes_guidance_scale(make_config, tmp_path):
    cfg = make_config("train", "model.cond_drop_prob=0.2", "model.guidance_scale=1.5")
    train(cfg)
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    assert GenerativeModule.load_from_checkpoint(ckpt).hparams.guidance_scale == 1.5
    overrides = [f"ckpt_path={ckpt}", "num_samples=10", "guidance_scale=3.0", "device=cpu"]
    folder = sample(compose_config("sample", [*overrides, f"output_dir={tmp_path / 's'}"]))
    info = json.loads((folder / "samples.json").read_text())
    assert info["guidance_scale"] == 3.0
