"""Seeded train/val/test splits by ratios, shared by every datamodule."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class Split:
    """Sample indices of each part, each ``(n_part,)`` long; ``test`` may be empty."""

    train: Tensor
    val: Tensor
    test: Tensor


def check_fractions(val_fraction: float, test_fraction: float) -> None:
    """Refuse fractions that leave no training or no validation data, naming them."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction={val_fraction} must lie strictly in (0, 1).")
    if not 0.0 <= test_fraction < 1.0 or val_fraction + test_fraction >= 1.0:
        raise ValueError(
            f"test_fraction={test_fraction} must lie in [0, 1) and leave training data: "
            f"val_fraction + test_fraction = {val_fraction + test_fraction} must be < 1."
        )


def split_indices(count: int, val_fraction: float, test_fraction: float, seed: int) -> Split:
    """Shuffle ``range(count)`` with ``seed`` and cut it into val, test and train parts.

    Validation gets at least one sample; the split depends only on ``count``, the fractions and
    ``seed``, so every run (and every DDP rank) sees the same parts.
    """
    check_fractions(val_fraction, test_fraction)
    order = torch.randperm(count, generator=torch.Generator().manual_seed(seed))
    n_val = max(1, round(val_fraction * count))
    n_test = round(test_fraction * count)
    if count - n_val - n_test < 1:
        raise ValueError(
            f"{count} samples are too few for val_fraction={val_fraction} and "
            f"test_fraction={test_fraction}; add data or lower the fractions."
        )
    return Split(
        train=order[n_val + n_test :], val=order[:n_val], test=order[n_val : n_val + n_test]
    )
