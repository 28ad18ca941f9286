"""Datamodules: batch-at-a-time indexing, seeded splits, training-split normalisation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from flowdiff.data import ArraysDataModule, DigitsDataModule, TensorBatches, Toy2DDataModule
from flowdiff.data.toy2d_distributions import DISTRIBUTIONS, sample_toy2d
from flowdiff.model.normalizer import Normalizer


def test_tensor_batches_fetch_a_whole_batch_per_call():
    x, cond = torch.arange(20.0).reshape(10, 2), torch.arange(10)
    batch = TensorBatches(x, cond).__getitems__([3, 1, 4])
    assert torch.equal(batch["x"], x[[3, 1, 4]]) and torch.equal(batch["cond"], cond[[3, 1, 4]])


def test_digits_batches_are_images_with_labels():
    datamodule = DigitsDataModule(batch_size=32)
    datamodule.setup("fit")
    batch = next(iter(datamodule.train_dataloader()))
    assert batch["x"].shape == (32, 1, 8, 8) and batch["x"].dtype == torch.float32
    assert batch["cond"].dtype == torch.long and batch["cond"].max() < 10
    assert len(datamodule.train_set) + len(datamodule.val_set) == 1797


def test_split_depends_on_seed_only_and_normalisation_on_train_split_only():
    a, b, c = (DigitsDataModule(seed=s) for s in (0, 0, 1))
    for datamodule in (a, b, c):
        datamodule.setup("fit")
    assert torch.equal(a.val_set.x, b.val_set.x)
    assert not torch.equal(a.val_set.x, c.val_set.x)
    train_pixels = a.normalizer.denormalize(a.train_set.x)
    assert train_pixels.min().item() == pytest.approx(0, abs=1e-5)
    varying = a.train_set.x.std(0) > 1e-6  # per pixel, on the training split
    assert torch.equal(a.normalizer.scale[~varying], torch.ones(int((~varying).sum())))
    x = a.train_set.x[:, varying]  # (N, pixels that vary); the blank border: centred only
    assert torch.allclose(x.mean(0), torch.zeros(()), atol=1e-4)
    assert torch.allclose(x.std(0), torch.ones(()), atol=1e-4)
    assert not torch.allclose(a.val_set.x[:, varying].mean(0), torch.zeros(()), atol=1e-4)


def test_standard_normalisation_round_trips_in_float64():
    x = torch.randn(500, 3, dtype=torch.float64) * torch.tensor([1.0, 10.0, 0.1]) + 5
    normalizer = Normalizer([3]).double().fit(x, "standard")
    z = normalizer.normalize(x)
    assert torch.allclose(z.mean(0), torch.zeros(3, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(z.std(0), torch.ones(3, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(normalizer.denormalize(z), x, atol=1e-12)


@pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
def test_toy2d_generators_are_seeded_and_2d(name):
    a, b = sample_toy2d(name, 1000, seed=3), sample_toy2d(name, 1000, seed=3)
    assert a.shape == (1000, 2) and torch.equal(a, b)
    assert torch.isfinite(a).all() and a.std(0).min() > 0.1


def test_toy2d_batches_have_no_cond():
    datamodule = Toy2DDataModule(name="moons", num_samples=1000, batch_size=64)
    datamodule.setup("fit")
    assert set(next(iter(datamodule.train_dataloader()))) == {"x"}


def test_digits_from_a_data_dir(tmp_path):
    images = np.random.default_rng(0).integers(0, 17, (50, 8, 8))
    np.savez(tmp_path / "digits.npz", images=images, target=np.arange(50) % 10)
    datamodule = DigitsDataModule(data_dir=str(tmp_path), batch_size=8)
    datamodule.setup("fit")
    assert len(datamodule.train_set) + len(datamodule.val_set) == 50


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: DigitsDataModule(data_dir=str(d)), "has no digits.npz"),
        (lambda d: Toy2DDataModule(name="donut"), "^name='donut'"),
        (lambda d: DigitsDataModule(shape=[1, 16, 16]), r"but shape=\[1, 16, 16\]; set shape="),
        (lambda d: DigitsDataModule(batch_size=0), "batch_size=0"),
        (lambda d: Toy2DDataModule(num_samples=-5), r"^num_samples=-5 must be >= 1"),  # was torch's
        (lambda d: Toy2DDataModule(num_samples=2.5), r"^num_samples=2.5 must be a whole number"),
        (lambda d: ArraysDataModule(file=str(d), shape=[2]), "is a folder; point it at an .npz"),
    ],
)
def test_bad_data_settings_say_what_to_fix(tmp_path, make, message):
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        make(tmp_path).setup("fit")
