"""Adapter over ``torchdyn``'s ODE solvers (``tsit5``, ``dopri5``, ``rk4``, ...)."""

from __future__ import annotations

import torch
from torch import Tensor
from torchdyn.numerics import odeint
from torchdyn.numerics.solvers.ode import SOLVER_DICT

from flowdiff.components import Component
from flowdiff.paths.base import ProbabilityPath
from flowdiff.samplers.base import CountingModel, ModelFn, SamplerOutput


class TorchdynSampler(Component):
    """Integrates the learned velocity field on [0, 1] with a torchdyn solver.

    Args:
        solver: a torchdyn solver name: ``euler``, ``midpoint``, ``rk4``, ``dopri5``, ``tsit5``...
        steps: number of equal steps for fixed-step solvers; ignored by adaptive ones.
        atol: absolute tolerance of adaptive solvers.
        rtol: relative tolerance of adaptive solvers.
        return_trajectory: keep the states at the ``steps + 1`` grid times (fixed-step only).
    """

    family = "flow_matching"
    steps_key = "steps"

    def __init__(
        self,
        solver: str = "tsit5",
        steps: int = 20,
        atol: float = 1e-4,
        rtol: float = 1e-4,
        return_trajectory: bool = False,
    ):
        super().__init__()
        self.save_hyperparameters()
        if solver not in SOLVER_DICT:
            raise ValueError(
                f"model.sampler.solver={solver!r} is not a torchdyn solver; "
                f"choose one of {sorted(SOLVER_DICT)}."
            )
        if steps < 1:
            raise ValueError(f"model.sampler.steps={steps} must be at least 1.")
        self.solver = solver
        self.steps = steps
        self.atol = atol
        self.rtol = rtol
        self.return_trajectory = return_trajectory

    @property
    def adaptive(self) -> bool:
        return SOLVER_DICT[self.solver]().stepping_class == "adaptive"

    def sample(
        self,
        model: ModelFn,
        path: ProbabilityPath,
        x_init: Tensor,
        generator: torch.Generator | None = None,
    ) -> SamplerOutput:
        """Solve ``dx/dt = model(x, t)`` on [0, 1] from ``x_init`` of shape ``(B, ...)``."""
        counted = CountingModel(model)
        adaptive = self.adaptive
        grid_size = 2 if adaptive else self.steps + 1
        t_span = torch.linspace(0.0, 1.0, grid_size, device=x_init.device, dtype=x_init.dtype)
        # torchdyn warns when tolerances are passed to fixed-step solvers.
        tolerances = {"atol": self.atol, "rtol": self.rtol} if adaptive else {}
        _, states = odeint(
            lambda t, x: counted(x, t), x_init, t_span, solver=self.solver, **tolerances
        )
        trajectory = states if self.return_trajectory else None
        return SamplerOutput(x=states[-1], nfe=counted.nfe, trajectory=trajectory)
