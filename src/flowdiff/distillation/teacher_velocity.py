"""A trained flow's velocity as a mean flow's instantaneous velocity: MeanFlow distillation.

:class:`flowdiff.paths.MeanFlowPath` regresses the average velocity ``u(x_t, t, s)`` on
``v + (s - t) d/dt u``; with ``teacher=TeacherVelocity(checkpoint)`` the ``v`` is the teacher's
guided velocity at ``(x_t, t)`` instead of the noisy conditional one ``x_1 - x_0``: a lower-
variance target, the teacher's guidance baked in (the student samples with one call per step),
and, started from the teacher's weights (:class:`~flowdiff.distillation.StudentFromTeacher`), a
student that is exact on empty intervals from the first step.
"""

from __future__ import annotations

import torch
from torch import Tensor

from flowdiff.components import Component
from flowdiff.distillation.teacher_coupling import TeacherCoupling, require_teacher
from flowdiff.errors import ConfigError
from flowdiff.model.guidance import guided_model
from flowdiff.model.module import GenerativeModule


class TeacherVelocity(Component):
    """``(x_t (B, ...), t (B,), cond) -> v (B, ...)``: a flow-matching teacher's velocity.

    Args:
        checkpoint: the teacher's ``.ckpt`` (its EMA weights; loaded on first use); it must be
            a flow-matching model on straight paths (``scheduler=condot``), the mean flow's.
        guidance_scale: the teacher's classifier-free guidance; ``None`` keeps its own.
    """

    def __init__(self, checkpoint: str | None, guidance_scale: float | None = None):
        super().__init__()
        self.save_hyperparameters()
        require_teacher(checkpoint, "mean_flow")
        self._loader = TeacherCoupling(checkpoint)

    @classmethod
    def from_module(cls, teacher: GenerativeModule, **options) -> TeacherVelocity:
        """A velocity around a teacher already in memory (``checkpoint`` is then a label)."""
        velocity = cls(checkpoint="<in memory>", **options)
        velocity._loader = TeacherCoupling.from_module(teacher)
        return velocity

    def teacher(self, device: torch.device) -> GenerativeModule:
        """The frozen teacher on ``device``, checked to be a straight-path flow."""
        teacher = self._loader.teacher(device)
        scheduler = teacher.path.hparams.get("scheduler")
        if teacher.path.family != "flow_matching" or scheduler != "condot":
            raise ConfigError(
                f"teacher_ckpt={self.hparams.checkpoint!r}: its path is "
                f"{type(teacher.path).__name__} (scheduler={scheduler!r}); a mean flow learns "
                "straight paths, so its teacher must be a flow-matching model with "
                "model.path.scheduler=condot."
            )
        return teacher

    @torch.no_grad()
    def __call__(self, x_t: Tensor, t: Tensor, cond: Tensor | None = None) -> Tensor:
        """The teacher's (guided) velocity at ``x_t`` ``(B, ...)``, times ``t`` ``(B,)``."""
        teacher = self.teacher(x_t.device)
        scale = self.hparams.guidance_scale
        scale = teacher.hparams.guidance_scale if scale is None else scale
        return guided_model(teacher.network, cond, scale if cond is not None else 1.0)(x_t, t)
