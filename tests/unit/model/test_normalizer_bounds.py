"""The normaliser's bounded features: a logit of the box, undone exactly when sampling, with the
Jacobian that densities need; checkpoints from before the bounds load as unbounded."""

from __future__ import annotations

import pytest
import torch

from flowdiff.data.bounds import parse_bounds
from flowdiff.model.normalizer import Normalizer


def bounded(low=(-1.0, 0.0, float("-inf")), high=(1.0, 2.0, float("inf"))) -> Normalizer:
    normalizer = Normalizer([3]).set_bounds(torch.tensor(low), torch.tensor(high))
    x = torch.stack([torch.rand(500) * 2 - 1, torch.rand(500) * 2, torch.randn(500) * 5], 1)
    return normalizer.fit(x, "standard")


def test_bounded_features_round_trip_and_samples_stay_inside():
    normalizer = bounded()
    assert normalizer.mask.tolist() == [True, True, False]
    x = torch.tensor([[-0.9, 1.5, 30.0], [0.99, 0.01, -4.0]], dtype=torch.float64)
    assert torch.allclose(normalizer.denormalize(normalizer.normalize(x)), x, atol=1e-6)
    far = normalizer.denormalize(torch.tensor([[50.0, -50.0, 7.0]]))
    assert -1 <= far[0, 0] <= 1 and 0 <= far[0, 1] <= 2  # any network output lands in the box
    assert torch.isfinite(normalizer.normalize(torch.tensor([[1.0, 0.0, 0.0]]))).all()


def test_log_abs_det_is_the_log_jacobian_of_normalize():
    normalizer = bounded()
    x = torch.tensor([[-0.5, 1.7, 3.0], [0.2, 0.3, -1.0]], dtype=torch.float64)
    for row in x:
        jacobian = torch.autograd.functional.jacobian(normalizer.normalize, row.unsqueeze(0))
        expected = torch.logdet(jacobian.reshape(3, 3).abs())
        assert float(normalizer.log_abs_det(row.unsqueeze(0))[0]) == pytest.approx(float(expected))


def test_unbounded_normalizer_is_the_affine_map_as_before():
    normalizer = Normalizer([2]).fit(torch.randn(100, 2) * 3 + 1, "standard")
    x = torch.randn(4, 2)
    assert torch.allclose(normalizer.normalize(x), (x - normalizer.shift) / normalizer.scale)
    log_scale = torch.log(normalizer.scale).sum()
    assert torch.allclose(normalizer.log_abs_det(x), -log_scale.expand(4))


def test_a_state_dict_from_before_the_bounds_loads_as_unbounded():
    old = {"shift": torch.ones(2), "scale": torch.full((2,), 2.0)}  # no low/high buffers
    normalizer = Normalizer([2])
    normalizer.load_state_dict(old)
    assert not normalizer.mask.any() and torch.equal(normalizer.scale, old["scale"])
    assert set(normalizer.state_dict()) == {"shift", "scale", *Normalizer.ADDED_BUFFERS}


@pytest.mark.parametrize(
    "bounds, words",
    [
        ([1], "bounds=[low, high]"),
        ("01", "bounds=[low, high]"),
        ([[0, 0, 0], [1, 1, 1]], "does not fit samples of shape [2]"),
        ([1, 0], "low < high"),
        ([0, float("nan")], "low < high"),
    ],
)
def test_bounds_of_the_wrong_form_are_refused(bounds, words):
    with pytest.raises(ValueError) as error:
        parse_bounds(bounds, [2])
    assert words in str(error.value)


def test_bounds_broadcast_and_null_leaves_a_feature_unbounded():
    low, high = parse_bounds([[0, None], 1], [2])
    assert low.tolist() == [0.0, float("-inf")] and high.tolist() == [1.0, 1.0]
    assert Normalizer([2]).set_bounds(low, high).mask.tolist() == [True, False]


def test_the_checkpoint_check_knows_the_added_buffers():
    from flowdiff.checkpoints.reading import ADDED_BUFFERS

    assert ADDED_BUFFERS == Normalizer.ADDED_BUFFERS
