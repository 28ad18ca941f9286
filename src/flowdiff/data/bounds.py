"""Bounds of a box the samples lie in (a uniform prior's parameters): read from the config and
checked against the data. The :class:`~flowdiff.model.normalizer.Normalizer` maps bounded
features through a logit, so a model learns them on the whole real line and draws strictly
inside the box."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def parse_bounds(bounds: Sequence, shape: Sequence[int]) -> tuple[Tensor, Tensor]:
    """``bounds = [low, high]``, each a number or a nested list broadcast to one sample's
    ``shape``: ``(low, high)`` tensors of that shape. ``null`` entries (or ``inf``) leave a
    feature unbounded; a bounded feature needs ``low < high``.

    Raises:
        ValueError: naming ``bounds`` and the form it takes.
    """
    form = "bounds=[low, high], e.g. bounds=[[-1,-1],[1,1]] or bounds=[0,1]"
    if isinstance(bounds, (str, bytes)) or len(bounds) != 2:
        raise ValueError(f"bounds={bounds!r}: give {form}.")
    try:
        low, high = (
            torch.as_tensor(_nulls_to(part, fill), dtype=torch.float64).expand(tuple(shape))
            for part, fill in zip(bounds, (-torch.inf, torch.inf), strict=True)
        )
    except (TypeError, ValueError, RuntimeError) as error:
        raise ValueError(
            f"bounds={bounds!r} does not fit samples of shape {list(shape)} ({error}); give "
            f"{form}, with numbers or lists shaped like one sample."
        ) from None
    both = torch.isfinite(low) & torch.isfinite(high)
    if (both & (low >= high)).any() or low.isnan().any() or high.isnan().any():
        raise ValueError(f"bounds={bounds!r}: every bounded feature needs low < high.")
    return low.float(), high.float()


def _nulls_to(part, fill: float):
    if part is None:
        return fill
    if isinstance(part, (list, tuple)) or hasattr(part, "__iter__"):
        return [_nulls_to(p, fill) for p in part]
    return part


def check_inside(x: Tensor, low: Tensor, high: Tensor, source: str) -> None:
    """Refuse samples ``x`` ``(N, *shape)`` outside ``[low, high]``, naming the first one."""
    outside = ((x < low) | (x > high)).flatten(1).any(1)
    if outside.any():
        row = int(torch.nonzero(outside)[0])
        raise ValueError(
            f"{source}: {int(outside.sum())} samples lie outside bounds (the first, row {row}: "
            f"{x[row].flatten()[:6].tolist()}); widen data.bounds to hold the data, or set "
            "data.bounds=null."
        )
