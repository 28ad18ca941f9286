"""Generated samples clamped to the training data's range and rounded to its levels in the data's
own units, whatever the normalisation (issue 26: the digits are standardised per pixel), and
checkpoints from before the stored range keep the range they clamped to."""

from __future__ import annotations

import warnings

import pytest
import torch

from flowdiff.model.module import GenerativeModule
from flowdiff.model.normalizer import Normalizer, on_data_grid
from flowdiff.networks import MLP
from tests.helpers.models import small_flow


def pixels(n: int = 400) -> torch.Tensor:
    """``(n, 3)`` integer pixel values 0-16; the first feature always 0, as a digit's border
    (standardisation only centres it: scale 1)."""
    x = torch.randint(0, 17, (n, 3)).float()
    x[:, 0] = 0.0
    return x


def grid_model(mode: str, **kwargs) -> GenerativeModule:
    model = small_flow(data_shape=[3], **kwargs)
    model.normalizer.fit(pixels(), mode)
    return model.eval()


def test_the_normalizer_keeps_the_training_range_in_every_mode():
    for mode in ("standard", "range", "none"):
        normalizer = Normalizer([3]).fit(pixels(), mode)
        assert (float(normalizer.data_min), float(normalizer.data_max)) == (0.0, 16.0)


def test_standardised_samples_land_on_the_integer_levels_of_the_data():
    free = grid_model("standard")
    wide = free.generate(300, generator=torch.Generator().manual_seed(0)).x
    grid = grid_model("standard", sample_levels=17)
    grid.load_state_dict(free.state_dict())
    x = grid.generate(300, generator=torch.Generator().manual_seed(0)).x
    assert torch.equal(x, x.round()) and x.min() >= 0 and x.max() <= 16
    assert (x - wide.clamp(0, 16)).abs().max() <= 0.5 + 1e-5  # the nearest level


def test_clip_alone_clamps_to_the_data_range_in_data_units():
    x = torch.tensor([[-3.0, 7.5, 20.0]])
    assert on_data_grid(x, True, None, 0.0, 16.0).tolist() == [[0.0, 7.5, 16.0]]
    assert on_data_grid(x, False, None, 0.0, 16.0) is x  # neither: left as sampled
    assert on_data_grid(x, None, 5, 0.0, 16.0).tolist() == [[0.0, 8.0, 16.0]]  # steps of 4


def test_a_checkpoint_from_before_the_range_clamps_where_it_did():
    saved = Normalizer([3]).fit(pixels(), "standard").state_dict()
    del saved["data_min"], saved["data_max"]
    loaded = Normalizer([3])
    loaded.load_state_dict(saved)
    low, high = loaded.sample_range()  # [-1, 1] in the network's units, per feature
    assert torch.allclose(low, saved["shift"] - saved["scale"])
    assert torch.allclose(high, saved["shift"] + saved["scale"])
    by_hand = Normalizer([3])  # statistics set by hand (as the HDF5 data do): the same rule
    by_hand.shift.fill_(8.0)
    by_hand.scale.fill_(8.0)
    assert [v.tolist() for v in by_hand.sample_range()] == [[0.0] * 3, [16.0] * 3]


def test_clip_sample_on_standardised_data_is_warned_about():
    from types import SimpleNamespace

    from flowdiff.paths import DiffusionPath
    from flowdiff.samplers import DiffusersSampler

    def module(clip_sample: bool) -> GenerativeModule:
        return GenerativeModule(
            MLP(data_shape=[3], hidden=16, depth=1),
            DiffusionPath(clip_sample=clip_sample),
            DiffusersSampler("ddim", steps=2),
            data_shape=[3],
        )

    standardised = SimpleNamespace(
        normalizer=Normalizer([3]).fit(pixels(), "standard"), cond_normalizer=None
    )
    with pytest.warns(UserWarning, match="clip_sample=true clips to \\[-1, 1\\]"):
        module(True).take_normalization(standardised)
    ranged = SimpleNamespace(
        normalizer=Normalizer([3]).fit(pixels(), "range"), cond_normalizer=None
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        module(True).take_normalization(ranged)  # [-1, 1] holds range-normalised data
        module(False).take_normalization(standardised)


def test_a_constant_feature_is_centred_and_a_held_out_value_off_it_stays_finite():
    normalizer = Normalizer([3]).fit(pixels(), "standard")
    assert float(normalizer.scale[0]) == 1.0 and float(normalizer.shift[0]) == 0.0
    held_out = torch.tensor([[3.0, 8.0, 8.0]])  # a border pixel that training never saw lit
    assert normalizer.normalize(held_out)[0, 0] == 3.0
