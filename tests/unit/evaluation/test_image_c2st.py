"""The pixel C2ST of image evaluations: it tells speckled digits from real ones (the defect a
saturated class accuracy cannot see) and scores real against real near chance."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from flowdiff.evaluation.reference import Reference
from flowdiff.evaluation.suite import MetricOptions, MetricSuite


def speckle(x: np.ndarray, seed: int = 0, scale: float = 1.0) -> np.ndarray:
    """Grey specks on a third of the pixels, kept in the 0-16 range: a known-bad generator."""
    rng = np.random.default_rng(seed)
    specks = np.abs(rng.normal(0.0, scale, x.shape)) * (rng.random(x.shape) < 0.3)
    return np.clip(x + specks, 0, 16)


@pytest.fixture(scope="module")
def digits_suite() -> MetricSuite:
    digits = load_digits()
    order = np.random.default_rng(0).permutation(len(digits.target))
    x = torch.as_tensor(digits.images[order], dtype=torch.float32)[:, None]
    y = torch.as_tensor(digits.target[order])
    reference = Reference(x[:1400], y[:1400], x[1400:], y[1400:])
    return MetricSuite(reference, MetricOptions(c2st_folds=3))


def test_speckled_digits_are_told_from_real_ones_and_real_from_real_is_chance(digits_suite):
    real = digits_suite.reference
    bad = torch.as_tensor(speckle(real.train_x[:397].numpy()), dtype=torch.float32)
    scores = digits_suite.score(bad, real.train_cond[:397])
    floor = digits_suite.floor()
    assert floor["c2st"] == pytest.approx(0.5, abs=0.08)
    assert floor["c2st_cond_mean"] == pytest.approx(0.5, abs=0.1)
    assert scores["c2st"] > 0.8 and scores["c2st_cond_mean"] > 0.7
    assert scores["cond_accuracy"] > 0.9  # the class is still right: accuracy cannot see it


def test_full_c2st_tells_speckle_and_its_floor_is_near_chance():
    """``full_c2st``: sbibm's C2ST of generated images against all real ones (training and
    held-out), generated pixels rounded to the real levels; the floor splits the real images."""
    digits = load_digits()
    x = torch.as_tensor(digits.images[:, ::2, ::2], dtype=torch.float32)[:, None]  # 4x4: fast
    y = torch.as_tensor(digits.target)
    suite = MetricSuite(Reference(x[:300], y[:300], x[300:400], y[300:400]), MetricOptions())
    real = x[:400].numpy()
    # grey specks of about 3 levels on a third of the pixels: they survive the rounding
    assert suite.full_c2st(torch.as_tensor(speckle(real, scale=3.0))) > 0.7
    assert suite.full_c2st_floor() == pytest.approx(0.5, abs=0.08)
