"""Adapter over facebookresearch ``flow_matching``: affine probability paths.

Convention (the library's): time ``t`` in [0, 1], noise ``x_0 ~ N(0, I)`` at ``t = 0``, data
``x_1`` at ``t = 1``, ``x_t = alpha_t x_1 + sigma_t x_0``; the network regresses the velocity
``dx_t = d_alpha_t x_1 + d_sigma_t x_0``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from flow_matching.path import AffineProbPath
from flow_matching.path.scheduler import (
    CondOTScheduler,
    CosineScheduler,
    LinearVPScheduler,
    PolynomialConvexScheduler,
    Scheduler,
    VPScheduler,
)
from torch import Tensor

from flowdiff.components import Component, describe
from flowdiff.errors import ConfigError
from flowdiff.paths.base import PathSample
from flowdiff.paths.coupling import COUPLINGS


def _scheduler(name: str, exponent: float) -> Scheduler:
    """flow_matching's scheduler for a short name (the library's own vocabulary)."""
    schedulers = {
        "condot": CondOTScheduler,
        "cosine": CosineScheduler,
        "vp": VPScheduler,
        "linear_vp": LinearVPScheduler,
        "polynomial": lambda: PolynomialConvexScheduler(n=exponent),
    }
    if name not in schedulers:
        raise ValueError(
            f"scheduler={name!r} is not a flow-matching scheduler; "
            f"choose one of {sorted(schedulers)}."
        )
    return schedulers[name]()


#: how training times are drawn (``FlowMatchingPath(time_sampling=...)``)
TIME_SAMPLINGS = ("uniform", "logit_normal")


class FlowMatchingPath(Component):
    """Flow matching on an affine path of ``flow_matching``.

    Args:
        scheduler: ``condot`` (straight lines), ``cosine``, ``vp``, ``linear_vp`` or
            ``polynomial``.
        exponent: the exponent ``n`` of the ``polynomial`` scheduler (``alpha_t = t**n``).
        t_max: upper end of training times, ``t ~ U[0, t_max]``; below 1 keeps schedulers whose
            ``sigma_t`` vanishes at 1 away from the singular end.
        t_power: training times drawn with density ``p(t) ~ t**t_power`` on ``[0, t_max]``
            (``t = t_max * u**(1 / (1 + t_power))``, ``u ~ U[0, 1]``); 0 is uniform, larger
            values spend more of training near the data (``t = 1``), where sharp (e.g.
            posterior) distributions need an accurate velocity, as in flow matching posterior
            estimation (Dax et al. 2023).
        time_sampling: ``uniform`` (with ``t_power``, above), or ``logit_normal``: ``t =
            t_max * sigmoid(n)``, ``n ~ N(0, 1)``, more of training at middle times, where the
            velocity is hardest to learn (Esser et al. 2024, Stable Diffusion 3); the digits'
            default (docs/benchmarks.md#digits-default-job).
        coupling: how noise is paired with data in a batch (:mod:`flowdiff.paths.coupling`):
            ``independent`` as drawn, or ``ot`` minibatch optimal transport (within each class
            for labelled data), which straightens the flow so that fewer solver steps suffice;
            or a coupling object (a :class:`~flowdiff.components.Component` called as
            ``coupling(x_0, x_1, cond)``) that returns the noise or a pair ``(x_0, x_1)``, such
            as :class:`flowdiff.distillation.TeacherCoupling` (reflow: a teacher's samples).
    """

    family = "flow_matching"

    def __init__(
        self,
        scheduler: str = "condot",
        exponent: float = 2.0,
        t_max: float = 1.0,
        t_power: float = 0.0,
        coupling: str | Callable = "independent",
        time_sampling: str = "uniform",
    ):
        super().__init__()
        self.save_hyperparameters()
        self.couple = _coupling(coupling)
        if not isinstance(coupling, str):  # recorded as the config that rebuilds it
            self.hparams["coupling"] = describe(coupling)
        if not 0.0 < t_max <= 1.0:
            raise ValueError(f"t_max={t_max} must lie in (0, 1].")
        if not t_power > -1.0:
            raise ValueError(f"t_power={t_power} must be > -1 (0: uniform times).")
        if time_sampling not in TIME_SAMPLINGS:
            raise ValueError(
                f"time_sampling={time_sampling!r}; choose one of {', '.join(TIME_SAMPLINGS)}."
            )
        if time_sampling == "logit_normal" and t_power:
            raise ValueError(
                f"t_power={t_power} shapes uniform times only; with time_sampling=logit_normal "
                "leave it at 0 (or set time_sampling=uniform)."
            )
        self.time_sampling = time_sampling
        self.affine = AffineProbPath(scheduler=_scheduler(scheduler, exponent))
        self.t_max = t_max
        self.t_power = t_power

    def sample(self, x_1: Tensor, cond: Tensor | None = None) -> PathSample:
        """Draw ``t`` (by ``time_sampling``, on ``[0, t_max]``) and ``x_0 ~ N(0, I)`` paired with
        ``x_1`` by the coupling (given ``cond``, the batch's conditions; a coupling that returns
        a pair replaces ``x_1`` too); target is the velocity ``dx_t``."""
        paired = self.couple(torch.randn_like(x_1), x_1, cond)
        x_0, x_1 = paired if isinstance(paired, tuple) else (paired, x_1)
        if self.time_sampling == "logit_normal":
            t = torch.sigmoid(torch.randn(x_1.shape[0], device=x_1.device, dtype=x_1.dtype))
        else:
            t = torch.rand(x_1.shape[0], device=x_1.device, dtype=x_1.dtype)
        if self.t_power:
            t = t ** (1.0 / (1.0 + self.t_power))
        t = t * self.t_max
        if type(self.affine.scheduler) is CondOTScheduler:
            return _straight_line(x_0, x_1, t)
        drawn = self.affine.sample(x_0=x_0, x_1=x_1, t=t)
        return PathSample(x_t=drawn.x_t, t=t, target=drawn.dx_t)

    def predict_x1(self, output: Tensor, x_t: Tensor, t: Tensor) -> Tensor:
        """Clean-data estimate from a predicted velocity ``output``."""
        # The library's conversions broadcast t elementwise, so t must already be (B, 1, ...).
        t = t.reshape(-1, *([1] * (x_t.dim() - 1)))
        return self.affine.velocity_to_target(velocity=output, x_t=x_t, t=t)


def _straight_line(x_0: Tensor, x_1: Tensor, t: Tensor) -> PathSample:
    """``AffineProbPath(CondOTScheduler()).sample`` in four tensor operations, bitwise the same:
    ``x_t = (1 - t) x_0 + t x_1``, target ``x_1 - x_0``. The library builds the four schedule
    tensors (two of them constant ones), clones and expands each, and multiplies the constants
    in: some twenty operations, a few percent of a small network's training step on a CPU.

    Args:
        x_0: noise, shape (batch, ...).
        x_1: data, like ``x_0``.
        t: times, shape (batch,).
    """
    t_x = t.reshape(-1, *([1] * (x_1.dim() - 1)))
    return PathSample(x_t=(1 - t_x) * x_0 + t_x * x_1, t=t, target=x_1 - x_0)


def _coupling(coupling: str | Callable) -> Callable:
    """The coupling function for a name of :data:`COUPLINGS`, or a coupling object itself."""
    if isinstance(coupling, str):
        if coupling not in COUPLINGS:
            raise ValueError(
                f"coupling={coupling!r} is not a coupling; choose one of {sorted(COUPLINGS)}."
            )
        return COUPLINGS[coupling]
    if not (isinstance(coupling, Component) and callable(coupling)):
        raise ConfigError(
            f"coupling={coupling!r} is neither a coupling name ({sorted(COUPLINGS)}) nor a "
            "callable flowdiff Component (e.g. flowdiff.distillation.TeacherCoupling), which a "
            "checkpoint can record and rebuild."
        )
    return coupling
