"""Embedding networks: observations ``x`` (images, time series, sets of i.i.d. trials) mapped to
a vector before they condition the posterior's network, trained jointly with it (sbi's
``embedding_net``).

:class:`EmbeddedNetwork` wraps any network ``forward(theta_t, t, cond)`` and any embedding
``x (B, *x_shape) -> (B, out_features)``. The ready embeddings record their constructor
arguments, so a checkpoint rebuilds them; configs: ``configs/model/network/embedding/``.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Sequence

import torch
from lightning.pytorch.core.mixins import HyperparametersMixin
from torch import Tensor, nn

from flowdiff.components import describe
from flowdiff.errors import ConfigError


def _whole(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_sizes(owner: object, x_shape, **sizes) -> None:
    """``x_shape`` a list of positive ints and each size a whole number >= 1, named."""
    name = type(owner).__name__
    shape_ok = isinstance(x_shape, Sequence) and not isinstance(x_shape, str) and x_shape
    if not shape_ok or not all(_whole(n) and n >= 1 for n in x_shape):
        raise ConfigError(f"{name}: x_shape={x_shape!r} must be a list of positive ints, e.g. [3].")
    for key, value in sizes.items():
        values = value if isinstance(value, Sequence) else [value]
        if not all(_whole(v) and v >= 1 for v in values):
            raise ConfigError(f"{name}: {key}={value!r} must be whole numbers >= 1.")


def embedding_features(embedding: nn.Module, x_shape: Sequence[int]) -> int:
    """Width of ``embedding``'s output for observations of ``x_shape``, measured on two zero
    observations (so an embedding that cannot take them fails here, before training)."""
    with torch.no_grad():
        out = embedding(torch.zeros(2, *x_shape))
    return math.prod(out.shape[1:])


class EmbeddedNetwork(HyperparametersMixin, nn.Module):
    """``network(theta_t, t, embedding(x))``: the condition goes through ``embedding`` first.

    Args:
        network: ``forward(x_t, t, cond, drop_cond=None)`` built for ``cond`` of shape
            ``(B, out_features)``.
        embedding: ``x (B, *x_shape) -> (B, out_features)`` (flattened if it returns more axes).
            One that records its constructor arguments (flowdiff's embeddings, or any
            ``HyperparametersMixin`` module) is rebuilt from a saved posterior; any other is
            given again to :meth:`Posterior.load(path, embedding_net=...)`.
    """

    #: The embedding takes observations of any shape: vectors, series, images, sets.
    accepts = ("vector", "image")
    #: ``cond`` is the raw observation, not what the inner network's condition input takes.
    embeds_cond = True

    def __init__(self, network: nn.Module, embedding: nn.Module | None):
        super().__init__()
        if embedding is None:
            from flowdiff.errors import CheckpointError

            raise CheckpointError(
                "This posterior's embedding net records no constructor arguments, so the file "
                "cannot rebuild it; pass the same module: Posterior.load(path, "
                "embedding_net=MyEmbedding(...))."
            )
        self.network = network
        self.embedding = embedding
        self.hparams["network"] = describe(network)
        recorded = isinstance(embedding, HyperparametersMixin)
        self.hparams["embedding"] = describe(embedding) if recorded else None

    def forward(
        self, x_t: Tensor, t: Tensor, cond: Tensor | None = None, drop_cond: Tensor | None = None
    ) -> Tensor:
        """``x_t`` ``(B, *theta_shape)``, ``t`` ``(B,)``, ``cond`` ``(B, *x_shape)``."""
        if cond is not None:
            cond = self.embedding(cond).reshape(len(cond), -1)
        return self.network(x_t, t, cond, drop_cond=drop_cond)


def _mlp(sizes: Sequence[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.SiLU())
    return nn.Sequential(*layers)


class MLPEmbedding(HyperparametersMixin, nn.Module):
    """Observations of any shape, flattened, through ``depth`` hidden layers of ``hidden``."""

    def __init__(self, x_shape: Sequence[int], out_features: int = 32, hidden: int = 64,
                 depth: int = 2):  # fmt: skip
        super().__init__()
        _check_sizes(self, x_shape, out_features=out_features, hidden=hidden)
        if not _whole(depth) or depth < 0:
            raise ConfigError(f"MLPEmbedding: depth={depth!r} must be a whole number >= 0.")
        self.save_hyperparameters()
        self.out_features = out_features
        self.net = _mlp([math.prod(x_shape), *[hidden] * depth, out_features])

    def forward(self, x: Tensor) -> Tensor:
        """``(B, *x_shape) -> (B, out_features)``."""
        return self.net(x.reshape(len(x), -1))


def _conv_stack(dims: int, channels: Sequence[int], kernel_size: int) -> nn.Sequential:
    conv = nn.Conv1d if dims == 1 else nn.Conv2d
    pool = nn.MaxPool1d if dims == 1 else nn.MaxPool2d
    layers: list[nn.Module] = []
    for c_in, c_out in itertools.pairwise(channels):
        layers += [conv(c_in, c_out, kernel_size, padding=kernel_size // 2), nn.SiLU(), pool(2)]
    return nn.Sequential(*layers)


class _ConvEmbedding(HyperparametersMixin, nn.Module):
    """Convolutions with pooling, then a linear layer over what is left."""

    dims = 1

    def __init__(self, x_shape: Sequence[int], out_features: int = 32,
                 channels: Sequence[int] = (16, 32), kernel_size: int = 5):  # fmt: skip
        super().__init__()
        _check_sizes(self, x_shape, out_features=out_features, channels=channels,
                     kernel_size=kernel_size)  # fmt: skip
        self.save_hyperparameters()
        self.out_features = out_features
        self.x_shape = tuple(x_shape)
        self.input_shape = self.x_shape if len(x_shape) > self.dims else (1, *x_shape)
        if len(self.input_shape) != self.dims + 1:
            kind = "[T] or [C, T]" if self.dims == 1 else "[H, W] or [C, H, W]"
            raise ConfigError(f"x_shape={list(x_shape)}: {type(self).__name__} takes {kind}.")
        self.convs = _conv_stack(self.dims, [self.input_shape[0], *channels], kernel_size)
        try:
            with torch.no_grad():
                width = self.convs(torch.zeros(1, *self.input_shape)).numel()
        except RuntimeError:  # a pooling left with nothing to pool
            width = 0
        if width == 0:  # every pooling halves: nothing would be left for the linear head
            raise ConfigError(
                f"x_shape={list(x_shape)} is too small for {type(self).__name__}'s "
                f"{len(channels)} convolutions, each halving it; use fewer channels=[...] (or "
                "MLPEmbedding)."
            )
        self.head = nn.Linear(width, out_features)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, *x_shape) -> (B, out_features)``."""
        h = self.convs(x.reshape(len(x), *self.input_shape))
        return self.head(h.reshape(len(x), -1))


class CNN1dEmbedding(_ConvEmbedding):
    """Time series ``[T]`` or ``[C, T]``: 1-D convolutions, each halving the length."""

    dims = 1


class CNNEmbedding(_ConvEmbedding):
    """Images ``[H, W]`` or ``[C, H, W]``: 2-D convolutions, each halving the size."""

    dims = 2


class SetEmbedding(HyperparametersMixin, nn.Module):
    """Sets of i.i.d. trials ``[n_trials, D]``: ``rho(mean_i phi(x_i))``, the same for any order
    of the trials (a deep set)."""

    def __init__(self, x_shape: Sequence[int], out_features: int = 32, hidden: int = 64):
        super().__init__()
        _check_sizes(self, x_shape, out_features=out_features, hidden=hidden)
        self.save_hyperparameters()
        if len(x_shape) != 2:
            raise ConfigError(f"x_shape={list(x_shape)}: SetEmbedding takes [n_trials, D].")
        self.out_features = out_features
        self.phi = _mlp([x_shape[1], hidden, hidden])
        self.rho = _mlp([hidden, hidden, out_features])

    def forward(self, x: Tensor) -> Tensor:
        """``(B, n_trials, D) -> (B, out_features)``."""
        return self.rho(self.phi(x).mean(dim=1))
