"""The probability-path protocol: how clean data is corrupted and what the network regresses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from torch import Tensor


@dataclass
class PathSample:
    """One draw from a probability path for a batch of clean data ``x_1``.

    Attributes:
        x_t: corrupted sample, shape ``(B, ...)`` like ``x_1``.
        t: the time the network is given, shape ``(B,)``, in the path's own convention.
        target: what the network must predict, shape like ``x_1``.
        weight: optional per-sample loss weight, shape ``(B,)``.
    """

    x_t: Tensor
    t: Tensor
    target: Tensor
    weight: Tensor | None = None


@runtime_checkable
class ProbabilityPath(Protocol):
    """A corruption process between noise and data.

    ``family`` names the kind of time and state the path uses; a sampler serves the paths of its
    family (``"flow_matching"``: continuous time in [0, 1], noise at 0; ``"diffusion"``: integer
    timesteps of a diffusers noise scheduler, data at 0).
    """

    family: str

    def sample(self, x_1: Tensor, cond: Tensor | None = None) -> PathSample:
        """Draw times and noise for clean data ``x_1`` of shape ``(B, ...)`` with conditions
        ``cond`` (``None`` when unconditional; a coupling may pair noise within a condition)."""
        ...

    def predict_x1(self, output: Tensor, x_t: Tensor, t: Tensor) -> Tensor:
        """Clean-data estimate from a network ``output`` at ``(x_t, t)``; shape like ``x_t``."""
        ...
