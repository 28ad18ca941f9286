"""The sampler protocol: turn noise into data with a trained network."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import torch
from torch import Tensor

if TYPE_CHECKING:  # at run time this would close a cycle: paths -> model -> samplers.base
    from flowdiff.paths.base import ProbabilityPath

#: ``model(x, t)``: the network with its condition bound; ``x`` is ``(B, ...)``, ``t`` is ``(B,)``
#: in the path's time convention; returns a tensor like ``x``.
ModelFn = Callable[[Tensor, Tensor], Tensor]


@dataclass
class SamplerOutput:
    """What a sampler returns.

    Attributes:
        x: final samples, shape ``(B, ...)``, in the network's (normalised) units.
        nfe: network evaluations used for the whole batch.
        trajectory: optional states along the way, shape ``(steps + 1, B, ...)``.
    """

    x: Tensor
    nfe: int
    trajectory: Tensor | None = None


@runtime_checkable
class Sampler(Protocol):
    """Integrates a trained network from ``x_init`` (noise) to data.

    ``family`` names the paths it serves (see :class:`~flowdiff.paths.ProbabilityPath`); every
    sampler's constructor takes its number of steps as ``steps``.
    """

    family: str

    def sample(
        self,
        model: ModelFn,
        path: ProbabilityPath,
        x_init: Tensor,
        generator: torch.Generator | None = None,
    ) -> SamplerOutput: ...


class CountingModel:
    """Wraps a :data:`ModelFn`, broadcasting a scalar time to the batch and counting calls."""

    def __init__(self, model: ModelFn):
        self.model = model
        self.nfe = 0

    def __call__(self, x: Tensor, t: Tensor) -> Tensor:
        self.nfe += 1
        t = torch.as_tensor(t, device=x.device)
        return self.model(x, t.to(x.dtype).expand(x.shape[0]))


def check_steps(steps: object) -> None:
    """Refuse a number of steps that is not a positive integer, naming the fix."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(
            f"steps={steps!r} must be an integer >= 1; use steps=20 or another positive count."
        )


def check_compatible(sampler: Sampler, path: ProbabilityPath) -> None:
    """Refuse a sampler that cannot serve ``path``, naming both and the fix; a sampler with a
    ``check_path(path)`` method checks the rest (e.g. a diffusion schedule it cannot sample)."""
    if sampler.family != path.family:
        raise ValueError(
            f"{type(sampler).__name__} samples {sampler.family} paths, but the path is a "
            f"{type(path).__name__} ({path.family}). Pick a matching sampler: ODESampler or "
            "TorchdynSampler (model/sampler=ode or model/sampler=torchdyn) for flow matching, "
            "DiffusersSampler (model/sampler=diffusers) for diffusion, MeanFlowSampler "
            "(model/sampler=mean_flow) for a mean flow (model/path=mean_flow)."
        )
    check_path = getattr(sampler, "check_path", None)
    if callable(check_path):
        check_path(path)
