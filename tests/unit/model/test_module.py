"""GenerativeModule: fp32 loss, the auxiliary term, data units, checkpoint round trip."""

from __future__ import annotations

import lightning as L
import pytest
import torch

from flowdiff.data import Toy2DDataModule
from flowdiff.model.module import GenerativeModule
from flowdiff.model.normalizer import NormalizationSource
from flowdiff.networks import MLP
from flowdiff.paths import DiffusionPath, PathSample
from flowdiff.samplers import DiffusersSampler, ODESampler
from tests.helpers.models import small_flow


def flow_model(**kwargs) -> GenerativeModule:
    return small_flow(hidden=32, steps=4, **kwargs)


def test_loss_is_fp32_even_for_half_precision_outputs():
    model = flow_model()
    target = torch.randn(4, 2)
    drawn = PathSample(x_t=torch.randn(4, 2), t=torch.rand(4), target=target)
    loss = model.loss(target.bfloat16() + 1, drawn, torch.randn(4, 2))
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(1.0, rel=1e-2)


def test_per_sample_weights_and_aux_loss_change_the_loss():
    model, aux_model = flow_model(), flow_model(aux_loss_weight=0.5)
    x_1, output = torch.randn(4, 2), torch.zeros(4, 2)
    drawn = PathSample(
        x_t=torch.randn(4, 2),
        t=torch.full((4,), 0.5),
        target=torch.ones(4, 2),
        weight=torch.tensor([1.0, 0.0, 0.0, 0.0]),
    )
    assert model.loss(output, drawn, x_1).item() == pytest.approx(0.25)
    x1_hat = model.path.predict_x1(output, drawn.x_t, drawn.t)
    extra = 0.5 * (x1_hat - x_1).pow(2).mean().item()
    assert aux_model.loss(output, drawn, x_1).item() == pytest.approx(0.25 + extra, rel=1e-5)


def test_training_stores_normalisation_and_sampling_undoes_it(tmp_path):
    datamodule = Toy2DDataModule(
        name="8gaussians", num_samples=2000, batch_size=256, normalization="standard"
    )
    model = flow_model()
    trainer = L.Trainer(
        accelerator="cpu",
        max_epochs=1,
        limit_train_batches=3,
        limit_val_batches=1,
        logger=False,
        enable_progress_bar=False,
        default_root_dir=tmp_path,
        enable_model_summary=False,
    )
    trainer.fit(model, datamodule=datamodule)
    assert torch.equal(model.normalizer.scale, datamodule.normalizer.scale)
    ckpt = tmp_path / "model.ckpt"
    trainer.save_checkpoint(ckpt)

    loaded = GenerativeModule.load_from_checkpoint(ckpt)
    assert torch.equal(loaded.normalizer.scale, datamodule.normalizer.scale)
    assert isinstance(loaded.sampler, ODESampler) and loaded.sampler.steps == 4
    generator = torch.Generator().manual_seed(0)
    out = loaded.generate(num_samples=8, generator=generator)
    raw = loaded.sampler.sample(
        lambda x, t: loaded.network(x, t),
        loaded.path,
        torch.randn(8, 2, generator=torch.Generator().manual_seed(0)),
    )
    assert torch.allclose(
        out.x, raw.x * datamodule.normalizer.scale + datamodule.normalizer.shift, atol=1e-5
    )


def test_load_from_checkpoint_with_another_sampler(tmp_path):
    model = GenerativeModule(
        MLP(data_shape=[2], hidden=16, depth=1),
        DiffusionPath(),
        DiffusersSampler(steps=3),
        data_shape=[2],
    )
    trainer = L.Trainer(accelerator="cpu", logger=False, max_epochs=0)
    trainer.strategy.connect(model)
    ckpt = tmp_path / "diffusion.ckpt"
    trainer.save_checkpoint(ckpt)
    loaded = GenerativeModule.load_from_checkpoint(ckpt, sampler=DiffusersSampler("ddpm", 5))
    assert loaded.generate(num_samples=2).nfe == 5
    with pytest.raises(ValueError, match="DiffusionPath"):
        GenerativeModule.load_from_checkpoint(ckpt, sampler=ODESampler())


def test_generate_checks_its_arguments():
    model = flow_model()
    with pytest.raises(ValueError, match="num_samples"):
        model.generate()
    with pytest.raises(ValueError, match="conditions"):
        model.generate(num_samples=3, cond=torch.zeros(2, 4))


@pytest.mark.parametrize(
    ("path_file", "bad"), [("not a ckpt", "not a readable"), (None, "does not exist")]
)
def test_bad_checkpoints_get_a_clear_message(tmp_path, path_file, bad):
    ckpt = tmp_path / "broken.ckpt"
    if path_file is not None:
        ckpt.write_text(path_file)
    with pytest.raises((ValueError, FileNotFoundError), match=bad):
        GenerativeModule.load_from_checkpoint(ckpt)


def test_float_conditions_are_normalised_like_training_and_travel_in_checkpoints(
    make_config, tmp_path
):
    """generate() takes conditions in the data's units; the network sees them as in training."""
    import numpy as np

    from flowdiff.training import train

    rng = np.random.default_rng(0)
    cond = rng.normal(50.0, 10.0, size=(400, 3)).astype(np.float32)  # far from standardised
    x = (cond[:, :2] / 10.0 + rng.normal(size=(400, 2))).astype(np.float32)
    np.savez(tmp_path / "pairs.npz", x=x, cond=cond)
    cfg = make_config(
        "train",
        "data=arrays",
        f"data.file={tmp_path / 'pairs.npz'}",
        "data.shape=[2]",
        "data.cond_shape=[3]",
        "model.network.hidden=16",
    )
    train(cfg)
    model = GenerativeModule.load_from_checkpoint(tmp_path / "run/checkpoints/last.ckpt")
    train_cond = cond  # the split's statistics are close to the whole file's
    assert torch.allclose(model.cond_normalizer.shift, torch.tensor(train_cond.mean(0)), atol=2.0)
    assert torch.allclose(model.cond_normalizer.scale, torch.tensor(train_cond.std(0)), rtol=0.2)

    seen = []
    network_forward = model.network.forward
    model.network.forward = lambda x_t, t, c=None, *a, **k: (
        seen.append(c),
        network_forward(x_t, t, c, *a, **k),
    )[1]
    model.sample(cond=torch.tensor(cond[:5]))
    expected = (torch.tensor(cond[:5]) - model.cond_normalizer.shift) / model.cond_normalizer.scale
    torch.testing.assert_close(seen[0], expected)
    torch.testing.assert_close(model.denormalize_cond(expected), torch.tensor(cond[:5]))


def test_format_1_checkpoints_still_load(make_config, tmp_path):
    """Checkpoints of flowdiff 0.1 (``cond_dim``, ``network.cond.*``) load to the same model."""
    from flowdiff.training import train

    train(make_config("train", "model.network.hidden=16"))
    current = tmp_path / "run/checkpoints/last.ckpt"
    checkpoint = torch.load(current, weights_only=False)
    checkpoint["flowdiff"]["format"] = 1
    checkpoint["flowdiff"]["network"]["cond_dim"] = 0
    del checkpoint["flowdiff"]["network"]["cond_shape"]
    state = checkpoint["state_dict"]
    for key in [k for k in state if k.startswith("network.cond.embedding.")]:
        state[key.replace("cond.embedding.", "cond.")] = state.pop(key)
    torch.save(checkpoint, tmp_path / "v1.ckpt")

    def draw(path):
        model = GenerativeModule.load_from_checkpoint(path)
        return model.sample(cond=torch.arange(4), generator=torch.Generator().manual_seed(0))

    torch.testing.assert_close(draw(tmp_path / "v1.ckpt"), draw(current), rtol=0, atol=0)


def test_the_datamodules_hand_over_their_normalisation_through_the_named_protocol():
    datamodule = Toy2DDataModule(name="moons", num_samples=200, batch_size=64)
    assert isinstance(datamodule, NormalizationSource)
    assert not isinstance(object(), NormalizationSource)
    datamodule.setup("fit")
    model = flow_model()
    model.take_normalization(datamodule)
    assert torch.equal(model.normalizer.shift, datamodule.normalizer.shift)
    assert not torch.equal(model.normalizer.shift, torch.zeros(2))


def test_samples_are_clamped_and_rounded_onto_the_data_grid():
    free = flow_model().eval()
    gen = torch.Generator().manual_seed(0)
    wide = free.sample(500, generator=gen)
    assert wide.abs().max() > 1.0  # an untrained flow leaves [-1, 1]
    clipped = flow_model(clip_samples=True).eval()
    clipped.load_state_dict(free.state_dict())
    x = clipped.sample(500, generator=torch.Generator().manual_seed(0))
    assert x.abs().max() <= 1.0 and torch.equal(x, wide.clamp(-1, 1))
    grid = flow_model(sample_levels=17).eval()
    grid.load_state_dict(free.state_dict())
    x = grid.sample(500, generator=torch.Generator().manual_seed(0))
    steps = (x + 1) * 8  # 17 levels over [-1, 1]: the integers 0..16
    assert torch.allclose(steps, steps.round(), atol=1e-5) and x.abs().max() <= 1.0
    assert (x - wide.clamp(-1, 1)).abs().max() <= 1 / 16 + 1e-6  # the nearest level


def test_sample_levels_below_two_are_refused():
    with pytest.raises(ValueError, match="sample_levels=1"):
        flow_model(sample_levels=1)
