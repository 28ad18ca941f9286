"""torchdyn's solver table, with its RK4 corrected; imported only when a torchdyn sampler is built.

torchdyn is the optional extra ``flowdiff[torchdyn]`` (it pulls a Jupyter kernel, torchvision
and a second Lightning package into an install), so nothing else in flowdiff imports this module.
"""

from __future__ import annotations

import torch
from torchdyn.numerics import odeint
from torchdyn.numerics.solvers.ode import SOLVER_DICT, RungeKutta4

__all__ = ["SOLVER_DICT", "odeint", "solver"]


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


def solver(name: str, dtype: torch.dtype):
    """torchdyn's solver instance for ``name``, with RK4 replaced by the corrected one."""
    solver_cls = SOLVER_DICT[name]
    return (_RungeKutta4 if solver_cls is RungeKutta4 else solver_cls)(dtype)
