"""NaN/inf in loaded data: counted, then refused, dropped or replaced as configured."""

from __future__ import annotations

import torch
from lightning.pytorch.utilities import rank_zero_warn
from torch import Tensor

from flowdiff.errors import DataError

POLICIES = ("refuse", "drop", "replace")


def _replace_by_feature_mean(x: Tensor, bad: Tensor) -> Tensor:
    """Each non-finite value becomes the mean of its feature's finite values (0 if none)."""
    finite = torch.where(bad, torch.zeros_like(x), x)
    counts = (~bad).sum(0).clamp(min=1)
    means = finite.sum(0) / counts
    return torch.where(bad, means.expand_as(x), x)


def handle_nonfinite(
    x: Tensor, cond: Tensor | None, policy: str, source: str
) -> tuple[Tensor, Tensor | None]:
    """Apply the ``nonfinite`` policy to samples ``x`` ``(N, ...)`` and their conditions.

    Args:
        x: samples; only floating-point data can hold NaN/inf.
        cond: conditions ``(N, ...)`` or ``None``; floating ones are checked too.
        policy: ``refuse`` (raise), ``drop`` (remove affected samples) or ``replace`` (by the
            feature's mean over finite values).
        source: what the data is, for the message (e.g. the data module's name).

    Raises:
        DataError: non-finite values under ``refuse``, or an unknown ``policy``.
    """
    if policy not in POLICIES:
        raise DataError(f"nonfinite={policy!r}; choose one of {list(POLICIES)}.")
    parts = {"x": x} if cond is None or not cond.is_floating_point() else {"x": x, "cond": cond}
    bad = {key: ~torch.isfinite(value) for key, value in parts.items() if value.is_floating_point()}
    rows = torch.zeros(len(x), dtype=torch.bool)
    for mask in bad.values():
        rows |= mask.flatten(1).any(1) if mask.ndim > 1 else mask
    if not rows.any():
        return x, cond
    counts = ", ".join(
        f"{key}: {int(torch.isnan(parts[key]).sum())} NaN and "
        f"{int(torch.isinf(parts[key]).sum())} inf"
        for key in bad
    )
    summary = f"{source}: {counts} values in {int(rows.sum())} of {len(x)} samples"
    if policy == "refuse":
        raise DataError(
            f"{summary}. Clean the data, or set nonfinite=drop (remove those samples) or "
            "nonfinite=replace (use each feature's mean)."
        )
    rank_zero_warn(f"{summary}; nonfinite={policy}.")
    if policy == "drop":
        keep = ~rows
        if not keep.any():
            raise DataError(f"{summary}: dropping them leaves no data.")
        return x[keep], None if cond is None else cond[keep]
    fixed = {key: _replace_by_feature_mean(parts[key], mask) for key, mask in bad.items()}
    return fixed["x"], fixed.get("cond", cond)
