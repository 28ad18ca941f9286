"""Small models for unit tests: a flow-matching module on a 1-block MLP, built in one line."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch

from flowdiff.model.module import GenerativeModule
from flowdiff.networks import MLP
from flowdiff.paths import FlowMatchingPath
from flowdiff.samplers import ODESampler


def small_flow(
    data_shape: Sequence[int] = (2,), hidden: int = 16, steps: int = 2, **kwargs
) -> GenerativeModule:
    """An untrained flow-matching module on vectors of ``data_shape`` (AdamW, lr 1e-3);
    ``kwargs`` go to :class:`GenerativeModule` (``clip_samples``, ``sample_levels``...)."""
    return GenerativeModule(
        MLP(data_shape=list(data_shape), hidden=hidden, depth=1),
        FlowMatchingPath(),
        ODESampler(steps=steps),
        data_shape=list(data_shape),
        optimizer=functools.partial(torch.optim.AdamW, lr=1e-3),
        **kwargs,
    )
