"""Normalisation of data, fitted on the training split and undone when sampling: affine, after
a logit map for features bounded on both sides (parameters under a box prior)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor, nn


class Normalizer(nn.Module):
    """``normalize(x) = (open(x) - shift) / scale``, with ``shift`` and ``scale`` shaped like one
    sample, and ``open`` the identity, or for ``bounded`` features (set by :meth:`set_bounds`)
    the logit of ``(x - low) / (high - low)``: the model then lives on the
    whole real line, and every sample it draws falls strictly inside the bounds.

    Also keeps the training data's overall ``data_min`` and ``data_max`` (its value range in
    the data's units, set by :meth:`fit`), where :func:`on_data_grid` clamps and rounds generated
    samples (:meth:`sample_range`).

    Kept as buffers, so the statistics, bounds and range travel in every checkpoint of the module
    that owns them (checkpoints from before the bounds load as unbounded; from before the range,
    with the range unknown, as for statistics set by hand).

    Args:
        data_shape: shape of one sample, e.g. ``[2]`` or ``[1, 8, 8]``.
    """

    #: how close to a bound a value is taken before the logit (in units of the interval)
    EDGE = 1e-6
    #: buffers added after checkpoints were first written; older files load without them
    #: (see _load_from_state_dict), and checkpoint checks do not count them missing
    #: (checkpoints.reading)
    ADDED_BUFFERS = ("low", "high", "bounded", "data_min", "data_max")

    def __init__(self, data_shape: Sequence[int]):
        super().__init__()
        self.register_buffer("shift", torch.zeros(tuple(data_shape)))
        self.register_buffer("scale", torch.ones(tuple(data_shape)))
        self.register_buffer("low", torch.zeros(tuple(data_shape)))
        self.register_buffer("high", torch.ones(tuple(data_shape)))
        self.register_buffer("bounded", torch.zeros(tuple(data_shape)))  # 1: bounded
        # the training data's range; data_min > data_max: unknown (see sample_range)
        self.register_buffer("data_min", torch.tensor(1.0))
        self.register_buffer("data_max", torch.tensor(-1.0))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        unbounded = {"low": self.low * 0, "high": self.high * 0 + 1, "bounded": self.bounded * 0}
        unknown_range = {"data_min": self.data_min * 0 + 1, "data_max": self.data_max * 0 - 1}
        for name, value in {**unbounded, **unknown_range}.items():  # from before these buffers
            state_dict.setdefault(prefix + name, value)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @property
    def mask(self) -> Tensor:
        """Bool, one sample's shape: which features are mapped by the logit."""
        return self.bounded > 0

    def set_bounds(self, low: Tensor, high: Tensor) -> Normalizer:
        """Bound the features where ``low`` and ``high`` (broadcast to one sample's shape) are
        both finite, with ``low < high``; call before :meth:`fit`."""
        low = torch.as_tensor(low, dtype=self.low.dtype).expand_as(self.low)
        high = torch.as_tensor(high, dtype=self.high.dtype).expand_as(self.high)
        both = torch.isfinite(low) & torch.isfinite(high)
        if (both & (low >= high)).any():
            raise ValueError("set_bounds: every bounded feature needs low < high.")
        self.low.copy_(torch.where(both, low, 0))
        self.high.copy_(torch.where(both, high, 1))
        self.bounded.copy_(both.float())
        return self

    def sample_range(self) -> tuple[Tensor, Tensor]:
        """``(low, high)`` in the data's units where generated samples are clamped: the training
        data's range when :meth:`fit` saw it; else (a checkpoint from before the range, or
        statistics set by hand) ``[-1, 1]`` in the network's units, per feature, as before."""
        if self.data_min <= self.data_max:
            return self.data_min, self.data_max
        return self.shift - self.scale, self.shift + self.scale

    def _unit(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(bounded, u)``: the mask and ``(x - low) / (high - low)`` kept off the edges."""
        low, high = self.low.to(x), self.high.to(x)
        return self.mask.to(x.device), ((x - low) / (high - low)).clamp(self.EDGE, 1 - self.EDGE)

    def _open(self, x: Tensor) -> Tensor:
        if not self.mask.any():
            return x
        bounded, u = self._unit(x)
        return torch.where(bounded, torch.logit(u), x)

    def _close(self, y: Tensor) -> Tensor:
        if not self.mask.any():
            return y
        low, high = self.low.to(y), self.high.to(y)
        return torch.where(self.mask.to(y.device), low + (high - low) * torch.sigmoid(y), y)

    def fit(self, x: Tensor, mode: str) -> Normalizer:
        """Set the statistics from training data ``x`` of shape ``(N, *data_shape)`` (after the
        logit of bounded features).

        Args:
            x: training samples.
            mode: ``standard`` (per-feature mean 0, std 1; a constant feature is only
                centred), ``range`` (all values to [-1, 1],
                one min/max for the whole dataset, as for images) or ``none``.
        """
        self.data_min.fill_(float(x.min()))
        self.data_max.fill_(float(x.max()))
        x = self._open(x.double())
        if mode == "standard":
            # a feature constant over the training split keeps scale 1 (centred only), as
            # scikit-learn's StandardScaler does: a held-out value off the constant stays finite
            std = x.std(0)
            shift, scale = x.mean(0), torch.where(std > 1e-8, std, torch.ones_like(std))
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
        return (self._open(x) - self.shift.to(x.dtype)) / self.scale.to(x.dtype)

    def denormalize(self, x: Tensor) -> Tensor:
        return self._close(x * self.scale.to(x.dtype) + self.shift.to(x.dtype))

    def log_abs_det(self, x: Tensor) -> Tensor:
        """``(N,)`` ``log |det d normalize / dx|`` at ``x`` ``(N, *data_shape)``: what a density
        in normalised units gains in the data's units."""
        log_det = -torch.log(self.scale.to(x.dtype).abs()).sum().expand(len(x))
        if not self.mask.any():
            return log_det
        bounded, u = self._unit(x)
        per_feature = -(torch.log((self.high - self.low).to(x)) + torch.log(u) + torch.log1p(-u))
        return log_det + torch.where(bounded, per_feature, 0).flatten(1).sum(1)


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


def on_data_grid(x: Tensor, clip: bool | None, levels: int | None, low, high) -> Tensor:
    """Samples ``x`` in the data's units, clamped to ``[low, high]`` (numbers, or tensors that
    broadcast against one sample) when ``clip``, and rounded to ``levels`` evenly spaced values
    over it (which implies the clamp) when ``levels``."""
    if not (clip or levels):
        return x
    low, high = (torch.as_tensor(v, dtype=x.dtype, device=x.device) for v in (low, high))
    x = torch.clamp(x, low, high)
    if levels:
        step = ((high - low) / (levels - 1)).clamp_min(torch.finfo(x.dtype).tiny)
        x = torch.where(high > low, torch.round((x - low) / step) * step + low, x)
    return x


def warn_clip_outside(normalizer: Normalizer, clip_sample: bool) -> None:
    """Warn when a diffusion path clips its clean-data estimate to ``[-1, 1]`` in the network's
    units (``clip_sample``) but the normalised training data leave that range (a ``standard``
    normalisation, as the digits' since issue 26): every step would pull samples inside it."""
    if not clip_sample:  # the default: nothing to compare
        return
    data_low, data_high = normalizer.sample_range()
    low = (data_low - normalizer.shift) / normalizer.scale
    high = (data_high - normalizer.shift) / normalizer.scale
    if low.min() < -1.001 or high.max() > 1.001:
        warnings.warn(
            "model.path.clip_sample=true clips to [-1, 1] in the network's units, but this "
            f"data's normalisation spans [{float(low.min()):.2f}, {float(high.max()):.2f}]: "
            "samples would be cut short. Set model.path.clip_sample=false (the default) or "
            "data.normalization=range.",
            UserWarning,
            stacklevel=2,
        )
