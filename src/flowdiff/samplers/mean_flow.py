"""The sampler of a mean flow (:class:`flowdiff.paths.MeanFlowPath`): ``steps`` jumps of the
learned average velocity, ``x_s = x_t + (s - t) u(x_t, t, s)``, one network call each."""

from __future__ import annotations

import itertools

import torch
from torch import Tensor

from flowdiff.components import Component
from flowdiff.paths.base import ProbabilityPath
from flowdiff.samplers.base import ModelFn, SamplerOutput, check_steps


class MeanFlowSampler(Component):
    """Jumps from noise (``t = 0``) to data (``t = 1``) on ``steps`` equal intervals.

    Args:
        steps: network calls (1: one-step generation; 2 is usually closer to the data).
        return_trajectory: keep the ``steps + 1`` states.
    """

    family = "mean_flow"

    def __init__(self, steps: int = 1, return_trajectory: bool = False):
        super().__init__()
        self.save_hyperparameters()
        check_steps(steps)
        self.steps = steps
        self.return_trajectory = return_trajectory

    def sample(
        self,
        model: ModelFn,
        path: ProbabilityPath,
        x_init: Tensor,
        generator: torch.Generator | None = None,
    ) -> SamplerOutput:
        """From noise ``x_init`` ``(B, ...)``; ``model(x, pair)`` takes the times ``(B, 2)``."""
        grid = torch.linspace(0.0, 1.0, self.steps + 1, device=x_init.device, dtype=x_init.dtype)
        x, states = x_init, [x_init]
        for t, s in itertools.pairwise(grid):
            pair = torch.stack([t, s]).expand(x.shape[0], 2)  # one pair for the whole batch
            x = x + (s - t) * model(x, pair)
            states.append(x)
        trajectory = torch.stack(states) if self.return_trajectory else None
        return SamplerOutput(x=x, nfe=self.steps, trajectory=trajectory)
