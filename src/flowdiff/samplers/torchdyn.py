"""Adapter over ``torchdyn``'s ODE solvers (``tsit5``, ``dopri5``, ``rk4``, ...)."""

from __future__ import annotations

import torch
from torch import Tensor
from torchdyn.numerics import odeint
from torchdyn.numerics.solvers.ode import SOLVER_DICT, RungeKutta4

from flowdiff.model.components import Component
from flowdiff.paths.base import ProbabilityPath
from flowdiff.samplers.base import CountingModel, ModelFn, SamplerOutput


class _RungeKutta4(RungeKutta4):
    """torchdyn 1.0.6's classic RK4 with its stage times corrected.

    The library evaluates stages 2-4 at ``t + c[0..2] dt`` (``t, t + dt/2, t + dt/2``) where the
    tableau means ``c[1..3]`` (``t + dt/2, t + dt/2, t + dt``): fourth order only for fields that
    do not depend on time, first order for every flow-matching velocity.
    """

    def step(self, f, x, t, dt, k1=None, args=None):
        c, a, b, _ = self.tableau
        k1 = f(t, x) if k1 is None else k1
        k2 = f(t + c[1] * dt, x + dt * (a[0] * k1))
        k3 = f(t + c[2] * dt, x + dt * (a[1][0] * k1 + a[1][1] * k2))
        k4 = f(t + c[3] * dt, x + dt * (a[2][0] * k1 + a[2][1] * k2 + a[2][2] * k3))
        return None, x + dt * (b[0] * k1 + b[1] * k2 + b[2] * k3 + b[3] * k4), None


def _solver(name: str, dtype: torch.dtype):
    """torchdyn's solver instance for ``name``, with RK4 replaced by the corrected one."""
    solver_cls = SOLVER_DICT[name]
    return (_RungeKutta4 if solver_cls is RungeKutta4 else solver_cls)(dtype)


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
                f"solver={solver!r} is not a torchdyn solver; choose one of {sorted(SOLVER_DICT)}."
            )
        if steps < 1:
            raise ValueError(f"steps={steps} must be at least 1.")
        self.solver = solver
        self.steps = steps
        self.atol = atol
        self.rtol = rtol
        self.return_trajectory = return_trajectory

    @property
    def adaptive(self) -> bool:
        return _solver(self.solver, torch.float32).stepping_class == "adaptive"

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
            lambda t, x: counted(x, t),
            x_init,
            t_span,
            solver=_solver(self.solver, x_init.dtype),
            **tolerances,
        )
        trajectory = states if self.return_trajectory else None
        return SamplerOutput(x=states[-1], nfe=counted.nfe, trajectory=trajectory)
