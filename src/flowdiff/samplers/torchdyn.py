"""Adapter over ``torchdyn``'s ODE solvers (``tsit5``, ``dopri5``, ``rk4``, ...).

torchdyn is optional (``pip install 'flowdiff[torchdyn]'``): it is imported when a sampler is
built, so ``import flowdiff`` and every other sampler work without it. Only ``tsit5``,
``alf`` and ``ieuler`` (implicit Euler) are torchdyn's alone; euler, midpoint, rk4 and dopri5 are
also ``model/sampler=ode`` (torchdiffeq).
"""

from __future__ import annotations

import torch
from torch import Tensor

from flowdiff.components import Component
from flowdiff.paths.base import ProbabilityPath
from flowdiff.samplers.base import CountingModel, ModelFn, SamplerOutput, check_steps


def _solvers():
    """``flowdiff.samplers.torchdyn_solvers``, imported on first use: without the optional extra
    ``flowdiff[torchdyn]`` this raises ``ModuleNotFoundError`` for ``torchdyn`` (the CLI names
    the extra to install)."""
    from flowdiff.samplers import torchdyn_solvers

    return torchdyn_solvers


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
        solvers = _solvers().SOLVER_DICT
        if solver not in solvers:
            raise ValueError(
                f"solver={solver!r} is not a torchdyn solver; choose one of {sorted(solvers)}."
            )
        check_steps(steps)
        self.solver = solver
        self.steps = steps
        self.atol = atol
        self.rtol = rtol
        self.return_trajectory = return_trajectory

    @property
    def adaptive(self) -> bool:
        return _solvers().solver(self.solver, torch.float32).stepping_class == "adaptive"

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
        solvers = _solvers()
        _, states = solvers.odeint(
            lambda t, x: counted(x, t),
            x_init,
            t_span,
            solver=solvers.solver(self.solver, x_init.dtype),
            **tolerances,
        )
        trajectory = states if self.return_trajectory else None
        return SamplerOutput(x=states[-1], nfe=counted.nfe, trajectory=trajectory)
