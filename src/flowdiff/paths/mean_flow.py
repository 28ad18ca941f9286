"""MeanFlow (Geng et al. 2025): a flow that learns the *average* velocity over an interval, so
one or two steps of its own sampler (:class:`flowdiff.samplers.MeanFlowSampler`) land where the
whole ODE trajectory would.

Convention (flow matching's): noise ``x_0`` at ``t = 0``, data ``x_1`` at ``t = 1``, straight
paths ``x_t = (1 - t) x_0 + t x_1``. The network takes a pair of times ``(t, s)``, ``t <= s``
(shape ``(B, 2)``; flowdiff's time embedding takes it unchanged) and predicts
``u(x_t, t, s) = (x_s - x_t) / (s - t)``, the average of the velocity ``v`` along the trajectory
from ``t`` to ``s`` (``u = v`` when ``s = t``). Differentiating ``(s - t) u = x_s - x_t`` in
``t`` gives the MeanFlow identity that makes the target:

    u(x_t, t, s) = v(x_t, t) + (s - t) d/dt u(x_t, t, s),   d/dt u = v . grad_x u + du/dt,

the total derivative being one Jacobian-vector product of the network with the tangent
``(v, 1, 0)`` (``torch.func.jvp``), under stop-gradient. ``v`` is the conditional velocity
``x_1 - x_0`` (training from scratch) or a trained flow's own velocity (distillation:
``teacher=``:class:`flowdiff.distillation.TeacherVelocity`), which bakes its guidance in.

The target needs the network being trained: :class:`~flowdiff.model.GenerativeModule` hands it
to :meth:`MeanFlowPath.bind_network`, and the training step stays the one of every path (the
target's product costs about two forward passes, under ``no_grad``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from flowdiff.components import Component, describe
from flowdiff.errors import ConfigError
from flowdiff.paths.base import PathSample
from flowdiff.paths.flow_matching import _coupling


class MeanFlowPath(Component):
    """Average-velocity flow matching on straight paths (MeanFlow).

    Args:
        interval_ratio: the share of training pairs with ``s > t`` (the rest have ``s = t``,
            plain flow matching); MeanFlow used 0.25 on ImageNet; 0.5 (not tuned) spends more
            of a short distillation on the intervals one- and two-step sampling uses.
        adaptive_power: MeanFlow's adaptive loss weight ``1 / (error + adaptive_eps) ** p``
            (stop-gradient), ``p = 0`` for plain MSE; applied in training only, so
            ``val/loss`` stays the plain MSE.
        adaptive_eps: the constant ``c`` of that weight.
        coupling: noise-data pairing, as :class:`~flowdiff.paths.FlowMatchingPath`'s
            (``independent`` or ``ot``).
        teacher: ``None`` (``v = x_1 - x_0``) or a callable flowdiff component
            ``teacher(x_t (B, ...), t (B,), cond) -> v`` such as
            :class:`flowdiff.distillation.TeacherVelocity`.
    """

    family = "mean_flow"

    def __init__(
        self,
        interval_ratio: float = 0.5,
        adaptive_power: float = 1.0,
        adaptive_eps: float = 1e-3,
        coupling: str | Callable = "independent",
        teacher: Callable | None = None,
    ):
        super().__init__()
        self.save_hyperparameters()
        if not 0.0 <= interval_ratio <= 1.0:
            raise ConfigError(f"interval_ratio={interval_ratio} must lie in [0, 1].")
        if adaptive_power < 0 or adaptive_eps <= 0:
            raise ConfigError(
                f"adaptive_power={adaptive_power} must be >= 0 and adaptive_eps={adaptive_eps} "
                "> 0 (adaptive_power=0: plain MSE)."
            )
        if teacher is not None and not (isinstance(teacher, Component) and callable(teacher)):
            raise ConfigError(
                f"teacher={teacher!r} is not a callable flowdiff Component; use "
                "flowdiff.distillation.TeacherVelocity(checkpoint=...) or None."
            )
        self.couple = _coupling(coupling)
        self.teacher = teacher
        if teacher is not None:  # recorded as the config that rebuilds it
            self.hparams["teacher"] = describe(teacher)
        self._network: nn.Module | None = None

    def bind_network(self, network: nn.Module) -> None:
        """Use ``network`` (the one being trained, ``forward(x, t (B, 2), cond)``) for targets."""
        self._network = network

    def times(self, batch: int, like: Tensor) -> tuple[Tensor, Tensor]:
        """Start and end times ``(B,)`` each, ``0 <= t <= s <= 1``: the interval's length
        uniform on [0, 1] and its start uniform where it fits, so every length (the whole
        [0, 1] of one-step sampling included) is trained alike, where two sorted uniform times
        would make lengths near 1 rare; ``s = t`` for a share ``1 - interval_ratio``."""
        length, place = torch.rand(2, batch, device=like.device, dtype=like.dtype)
        flat = torch.rand(batch, device=like.device) >= self.hparams.interval_ratio
        length = torch.where(flat, torch.zeros_like(length), length)
        t = place * (1 - length)
        return t, t + length

    def sample(self, x_1: Tensor, cond: Tensor | None = None) -> PathSample:
        """Draw ``(t, s)``, noise paired by the coupling, ``x_t`` on the straight path and the
        MeanFlow target ``v + (s - t) d/dt u`` (shapes like ``x_1``; ``PathSample.t`` is the
        pair ``(B, 2)``)."""
        if self._network is None:
            raise ConfigError(
                "MeanFlowPath has no network to build its target with; give the path to a "
                "GenerativeModule (it binds its network) or call path.bind_network(network)."
            )
        paired = self.couple(torch.randn_like(x_1), x_1, cond)
        x_0, x_1 = paired if isinstance(paired, tuple) else (paired, x_1)
        t, s = self.times(x_1.shape[0], x_1)
        shape = (-1, *([1] * (x_1.dim() - 1)))
        x_t = (1 - t.reshape(shape)) * x_0 + t.reshape(shape) * x_1
        v = x_1 - x_0 if self.teacher is None else self.teacher(x_t, t, cond).to(x_1.dtype)
        u, du_dt = self.average_velocity_jvp(x_t, t, s, v, cond)
        target = v + (s - t).reshape(shape) * du_dt
        weight = None
        if torch.is_grad_enabled() and self.hparams.adaptive_power > 0:  # training only
            error = (u - target).float().pow(2).flatten(1).mean(1)
            weight = (error + self.hparams.adaptive_eps).pow(-self.hparams.adaptive_power)
        return PathSample(x_t=x_t, t=torch.stack([t, s], dim=1), target=target, weight=weight)

    @torch.no_grad()
    def average_velocity_jvp(
        self, x_t: Tensor, t: Tensor, s: Tensor, v: Tensor, cond: Tensor | None
    ) -> tuple[Tensor, Tensor]:
        """The network's ``u(x_t, t, s)`` and its total derivative along the flow,
        ``v . grad_x u + du/dt`` (both like ``x_t``), by one forward-mode product."""

        def average(x: Tensor, start: Tensor, end: Tensor) -> Tensor:
            return self._network(x, torch.stack([start, end], dim=1), cond)

        tangents = (v, torch.ones_like(t), torch.zeros_like(s))
        return torch.func.jvp(average, (x_t, t, s), tangents)

    def predict_x1(self, output: Tensor, x_t: Tensor, t: Tensor) -> Tensor:
        """Clean-data estimate ``x_t + (1 - t) u`` from an average velocity ``output``
        (exact when the pair ``t`` ``(B, 2)`` ends at 1; ``t`` may also be ``(B,)``)."""
        start = t[:, 0] if t.dim() == 2 else t
        return x_t + (1 - start).reshape(-1, *([1] * (x_t.dim() - 1))) * output
