"""Every network x {flow matching, diffusion} x each kind of cond it accepts: forward, backward
and one sampling call on the CPU; refusals name the key; presets compose and build."""

from __future__ import annotations

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from flowdiff.model.module import GenerativeModule
from flowdiff.networks import CNN, MLP, DiT, Hybrid, ResNet, TokenTransformer, UNet
from flowdiff.networks.conditioning import coordinate_grid
from flowdiff.paths import DiffusionPath, FlowMatchingPath
from flowdiff.samplers import DiffusersSampler, ODESampler
from tests.helpers.config import CONFIG_DIR

pytestmark = pytest.mark.filterwarnings("ignore:.*self.trainer.*")

IMAGE_SHAPE = [1, 8, 8]
TINY = {
    DiT: dict(hidden=16, depth=1, heads=2, patch_size=4),
    CNN: dict(hidden=8, depth=2, kernel_sizes=[3, 5]),
    ResNet: dict(hidden=8, depth=1, groups=4),
    Hybrid: dict(hidden=16, depth=1, heads=2, conv_depth=1, patch_size=4),
    UNet: dict(block_out_channels=[8, 16], norm_num_groups=4, layers_per_block=1),
    MLP: dict(hidden=16, depth=1),
    TokenTransformer: dict(hidden=16, depth=1, heads=2),
}
#: cond kind -> (constructor arguments, a batch of 3 conditions)
KINDS = {
    None: ({}, lambda: None),
    "labels": ({"num_classes": 4}, lambda: torch.tensor([0, 3, 1])),
    "vector": ({"cond_shape": [5]}, lambda: torch.randn(3, 5)),
    "image": ({"cond_shape": [5, 8, 8], "add_coord_grid": True}, lambda: torch.randn(3, 5, 8, 8)),
}
FAMILIES = {
    "flow_matching": lambda: (FlowMatchingPath(), ODESampler(method="euler", steps=2)),
    "diffusion": lambda: (DiffusionPath(num_train_timesteps=50), DiffusersSampler("ddim", 2)),
}


def cases():
    for network, extra in TINY.items():
        shape = [3, 2] if network is TokenTransformer else ([4] if network is MLP else IMAGE_SHAPE)
        for kind in KINDS:
            if kind is None or kind in network.accepts:
                yield pytest.param(network, extra, shape, kind, id=f"{network.__name__}-{kind}")


def build(network, extra, shape, kind):
    arguments, make_cond = KINDS[kind]
    if network is TokenTransformer and kind == "vector":
        arguments = {"cond_shape": [5, 2]}
        return network(data_shape=shape, **arguments, **extra), torch.randn(3, 5, 2)
    return network(data_shape=shape, **arguments, **extra), make_cond()


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize(("network", "extra", "shape", "kind"), list(cases()))
def test_network_trains_and_samples(network, extra, shape, kind, family):
    torch.manual_seed(0)
    net, cond = build(network, extra, shape, kind)
    path, sampler = FAMILIES[family]()
    model = GenerativeModule(net, path, sampler, data_shape=shape, cond_drop_prob=0.3)
    batch = {"x": torch.randn(3, *shape)} | ({} if cond is None else {"cond": cond})
    loss = model._shared_step(batch, "train")
    loss.backward()
    grads = [p.grad for p in net.parameters() if p.grad is not None]
    assert torch.isfinite(loss) and grads and all(torch.isfinite(g).all() for g in grads)
    out = model.generate(num_samples=3, cond=cond, guidance_scale=1.5)
    assert out.x.shape == (3, *shape) and torch.isfinite(out.x).all()


@pytest.mark.parametrize("network", [DiT, CNN, ResNet, Hybrid])
def test_signal_networks_take_vector_conditions(network):
    """The detector-events layout: signals (B, channels, sensors) given a label vector (B, 6)."""
    extra = dict(TINY[network]) | ({"groups": 8} if network is ResNet else {})
    net = network(data_shape=[2, 16], cond_shape=[6], **extra)
    out = net(torch.randn(3, 2, 16), torch.rand(3), torch.randn(3, 6))
    assert out.shape == (3, 2, 16)


def test_scenes_layout_has_eight_input_channels():
    net = DiT(data_shape=[1, 8, 8], cond_shape=[5, 8, 8], add_coord_grid=True, **TINY[DiT])
    assert net.cond.in_channels == 8
    assert net.patch.proj.in_channels == 8


def test_coordinate_grid_spans_each_axis():
    grid = coordinate_grid(torch.zeros(2, 1, 3, 5))
    assert grid.shape == (2, 2, 3, 5)
    assert torch.equal(grid[0, 0, :, 0], torch.tensor([-1.0, 0.0, 1.0]))
    assert torch.equal(grid[0, 1, 0], torch.linspace(-1, 1, 5))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: MLP([1, 8, 8], cond_shape=[5, 8, 8]), "MLP does not accept image"),
        (lambda: TokenTransformer([3], num_classes=4), "TokenTransformer does not accept labels"),
        (lambda: UNet([1, 8, 8], cond_shape=[6]), "UNet does not accept vector"),
        (lambda: DiT([1, 8, 8], num_classes=3, cond_shape=[4]), "num_classes=3"),
        (lambda: DiT([1, 8, 8], cond_shape=[5, 4, 4]), "spatial size"),
        (lambda: DiT([1, 8, 8], patch_size=3), "patch_size=3"),
        (lambda: DiT([4], patch_size=2), r"data_shape=\[4\]"),
        (lambda: DiT([1, 8, 8], hidden=30, heads=4, patch_size=4), "divisible"),
        (lambda: CNN([4]), r"data_shape=\[4\]"),
    ],
)
def test_unaccepted_configs_are_refused_with_the_argument(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(
    ("cond", "message"),
    [
        (torch.tensor([0, 1, 2]), r"received cond of shape \[3\]; build it with cond_shape="),
        (torch.randn(3, 5, 8, 8), r"received cond of shape \[3, 5, 8, 8\]"),
    ],
)
def test_a_cond_of_the_wrong_kind_is_refused_at_forward(cond, message):
    net = DiT(data_shape=[1, 8, 8], cond_shape=[6], **TINY[DiT])
    with pytest.raises(ValueError, match=message):
        net(torch.randn(3, 1, 8, 8), torch.rand(3), cond)


def test_unconditional_network_refuses_cond():
    net = CNN(data_shape=[1, 8, 8], **TINY[CNN])
    with pytest.raises(ValueError, match="built unconditional"):
        net(torch.randn(3, 1, 8, 8), torch.rand(3), torch.randn(3, 5))


PRESETS = sorted(path.stem for path in (CONFIG_DIR / "model" / "network").glob("*.yaml"))


@pytest.mark.parametrize("preset", PRESETS)
def test_every_network_preset_builds_for_image_data(preset):
    data = {"shape": [1, 16, 16], "num_classes": 0, "cond_shape": [5, 16, 16]}
    if preset == "tokens":
        data = {"shape": [3, 1], "num_classes": 0, "cond_shape": [5, 2]}
    if preset in ("mlp", "mlp_small"):
        data = {"shape": [1, 16, 16], "num_classes": 10}
    node = OmegaConf.load(CONFIG_DIR / "model" / "network" / f"{preset}.yaml")
    if preset == "embedded":  # the sbi posterior network: an MLP over theta, a CNN over x
        data = {"shape": [2], "num_classes": 0, "cond_shape": [1, 16, 16]}
        node.embedding = OmegaConf.load(CONFIG_DIR / "model/network/embedding/cnn.yaml")
        node.pop("defaults")
    cfg = OmegaConf.merge({"data": data}, {"model": {"network": node}})
    net = instantiate(cfg.model.network)
    assert hasattr(net, "accepts") and net.hparams


def test_detector_events_preset_sizes():
    sizes = {
        name: OmegaConf.load(CONFIG_DIR / "model" / "network" / f"{name}.yaml")
        for name in ("dit", "dit_small", "dit_debug", "cnn", "hybrid")
    }
    layers = {name: (c.hidden, c.depth, c.get("heads")) for name, c in sizes.items()}
    assert layers == {
        "dit": (512, 8, 8),
        "dit_small": (256, 4, 4),
        "dit_debug": (128, 2, 2),
        "cnn": (256, 6, None),
        "hybrid": (384, 6, 6),
    }


def test_class_labels_are_checked_for_a_unet_that_embeds_them_itself():
    """The UNet embeds labels through diffusers, not a flowdiff embedding: ``generate``'s
    condition check reads the class count from its ``ConditionInput`` (``flowdiff-train
    model/network=unet`` on digits once failed at its final sample figure)."""
    from flowdiff.errors import FlowdiffError
    from flowdiff.model.input_checks import check_cond

    unet = UNet(
        [1, 8, 8], num_classes=10, block_out_channels=[8, 16], attention=[False, False],
        layers_per_block=1, norm_num_groups=4,
    )  # fmt: skip
    check_cond(torch.arange(10), unet)
    with pytest.raises(FlowdiffError, match="cond"):
        check_cond(torch.tensor([10]), unet)


def test_mlp_embeds_a_shared_time_and_condition_once():
    """Rows that share ``t`` and ``cond`` (expanded, as posterior draws for one observation):
    the same output as with the rows written out, with one row through the modulations."""
    torch.manual_seed(0)
    net = MLP([3], hidden=16, depth=2, cond_shape=[4]).eval()
    seen = []
    net.blocks[0].modulation.register_forward_hook(lambda m, i, o: seen.append(len(i[0])))
    x = torch.randn(50, 3)
    t, cond = torch.tensor(0.3).expand(50), torch.randn(1, 4).expand(50, 4)
    shared = net(x, t, cond)
    written_out = net(x, t.contiguous(), cond.contiguous())
    torch.testing.assert_close(shared, written_out)
    assert seen == [1, 50]
    net(x, t, cond, drop_cond=torch.zeros(50, dtype=torch.bool))  # guidance: per row
    assert seen[-1] == 50


def test_normalizing_one_expanded_row_keeps_it_one_row():
    from flowdiff.model.normalizer import Normalizer

    normalizer = Normalizer([4]).fit(torch.randn(100, 4) * 3 + 1, "standard")
    row = torch.randn(1, 4)
    out = normalizer.normalize(row.expand(20, 4))
    assert out.shape == (20, 4) and out.stride(0) == 0
    torch.testing.assert_close(out, normalizer.normalize(row.expand(20, 4).contiguous()))
