"""Affine normalisation of data, fitted on the training split and undone when sampling."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor, nn


class Normalizer(nn.Module):
    """``normalize(x) = (x - shift) / scale``, with ``shift`` and ``scale`` shaped like one sample.

    Kept as buffers, so the statistics travel in every checkpoint of the module that owns them.

    Args:
        data_shape: shape of one sample, e.g. ``[2]`` or ``[1, 8, 8]``.
    """

    def __init__(self, data_shape: Sequence[int]):
        super().__init__()
        self.register_buffer("shift", torch.zeros(tuple(data_shape)))
        self.register_buffer("scale", torch.ones(tuple(data_shape)))

    def fit(self, x: Tensor, mode: str) -> Normalizer:
        """Set the statistics from training data ``x`` of shape ``(N, *data_shape)``.

        Args:
            x: training samples.
            mode: ``standard`` (per-feature mean 0, std 1), ``range`` (all values to [-1, 1],
                one min/max for the whole dataset, as for images) or ``none``.
        """
        x = x.double()
        if mode == "standard":
            shift, scale = x.mean(0), x.std(0).clamp_min(1e-8)
        elif mode == "range":
            low, high = x.min(), x.max()
            shift = torch.full_like(x[0], float(high + low) / 2)
            scale = torch.full_like(x[0], max(float(high - low) / 2, 1e-8))
        elif mode == "none":
            shift, scale = torch.zeros_like(x[0]), torch.ones_like(x[0])
        else:
            raise ValueError(f"normalization={mode!r}; choose standard, range or none.")
        self.shift.copy_(shift)
        self.scale.copy_(scale)
        return self

    def normalize(self, x: Tensor) -> Tensor:
        if x.dim() > len(self.shift.shape) and x.shape[0] > 1 and x.stride(0) == 0:
            # one row expanded (one observation for many draws): stays one row expanded, so
            # the network can tell (networks.mlp)
            return self.normalize(x[:1]).expand_as(x)
        return (x - self.shift.to(x.dtype)) / self.scale.to(x.dtype)

    def denormalize(self, x: Tensor) -> Tensor:
        return x * self.scale.to(x.dtype) + self.shift.to(x.dtype)


@runtime_checkable
class NormalizationSource(Protocol):
    """What hands a :class:`~flowdiff.model.GenerativeModule` its data's normalisation.

    flowdiff's datamodules are sources: their ``setup`` fits ``normalizer`` (and
    ``cond_normalizer`` for float conditions, else ``None``) on the training split, and the
    module takes both over when fitting starts (:meth:`GenerativeModule.take_normalization`), so
    its checkpoints carry them and samples come out in the data's units.
    """

    normalizer: Normalizer
    cond_normalizer: Normalizer | None


def on_data_grid(x: Tensor, clip: bool | None, levels: int | None) -> Tensor:
    """Samples ``x`` in the network's ``[-1, 1]`` units, clamped to that range when ``clip`` and
    rounded to ``levels`` evenly spaced values (which implies the clamp) when ``levels``."""
    if not (clip or levels):
        return x
    x = x.clamp(-1.0, 1.0)
    if levels:
        step = 2.0 / (levels - 1)
        x = torch.round((x + 1.0) / step) * step - 1.0
    return x
