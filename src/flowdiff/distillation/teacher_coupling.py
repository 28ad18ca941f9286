"""Reflow pairs: a coupling that joins each noise sample to the sample a trained teacher draws
from it (rectified flow, Liu et al. 2022).

The teacher is a flowdiff checkpoint, loaded on first use and sampled with its own sampler (or
``steps`` steps of it) and guidance scale, conditioned on each batch's conditions. The pairs
``(x_0, teacher(x_0, cond))`` are deterministic, so a flow trained on them is straighter than the
teacher's and a one- or two-step Euler sampler goes further. Guidance is baked in: the student
samples with ``guidance_scale=1`` (one network call per step, not two).

Pairs are drawn afresh at every training step (online reflow), which costs the teacher's sampling
of one batch per step; see docs/few_step.md for the cost accounting.
"""

from __future__ import annotations

import time

import torch
from torch import Tensor

from flowdiff.components import Component
from flowdiff.errors import ConfigError
from flowdiff.inference.sampler_choice import build_sampler
from flowdiff.model.guidance import guided_model
from flowdiff.model.loading import load_model
from flowdiff.model.module import GenerativeModule


def require_teacher(checkpoint: str | None, experiment: str = "reflow") -> None:
    """Refuse a missing teacher checkpoint, naming the key the ``experiment`` reads."""
    if checkpoint is None or not str(checkpoint).strip():
        raise ConfigError(
            f"checkpoint={checkpoint!r}: {experiment} needs the teacher's checkpoint; pass "
            "teacher_ckpt=outputs/<run>/checkpoints/last.ckpt (flowdiff-train "
            f"experiment={experiment})."
        )


class TeacherCoupling(Component):
    """A flow-matching coupling ``(x_0, x_1, cond) -> (x_0, teacher sample)``.

    Args:
        checkpoint: the teacher's ``.ckpt`` (a flowdiff checkpoint; its EMA weights are used);
            ``None`` is refused (the reflow experiment's ``teacher_ckpt`` is unset).
        steps: the teacher's sampler steps; ``None`` keeps the sampler it was trained with.
        guidance_scale: the teacher's classifier-free guidance scale; ``None`` keeps its own.
    """

    def __init__(
        self, checkpoint: str | None, steps: int | None = None, guidance_scale: float | None = None
    ):
        super().__init__()
        self.save_hyperparameters()
        require_teacher(checkpoint)
        if steps is not None and steps < 1:
            raise ConfigError(f"steps={steps} must be at least 1 (or None: the teacher's own).")
        self._teacher: GenerativeModule | None = None
        #: pairs drawn so far and the wall seconds the teacher spent on them (cost accounting;
        #: on a GPU only the host's share, as the work runs asynchronously)
        self.pairs, self.seconds = 0, 0.0

    @classmethod
    def from_module(cls, teacher: GenerativeModule, **options) -> TeacherCoupling:
        """A coupling around a teacher already in memory (``checkpoint`` is then only a label)."""
        coupling = cls(checkpoint="<in memory>", **options)
        coupling._teacher = teacher
        return coupling

    def teacher(self, device: torch.device) -> GenerativeModule:
        """The teacher module on ``device``, frozen (loaded from ``checkpoint`` on first use)."""
        if self._teacher is None:
            self._teacher = load_model(self.hparams.checkpoint).model
        if self._teacher.device != device:
            self._teacher = self._teacher.to(device)
        return self._teacher.eval().requires_grad_(False)

    @torch.no_grad()
    def __call__(
        self, x_0: Tensor, x_1: Tensor, cond: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """The pair ``(x_0, teacher sample from x_0 given cond)``.

        Args:
            x_0: noise ``(B, *data_shape)``, in the network's (normalised) units.
            x_1: the batch's data ``(B, *data_shape)``: only its dtype is used (replaced).
            cond: the batch's conditions, ``(B, ...)`` as the module gives them (normalised),
                or ``None``.

        Returns:
            ``x_0`` and the teacher's sample, both ``(B, *data_shape)``, in normalised units,
            neither clipped nor rounded (the student's ``generate`` does that at the end).
        """
        start = time.perf_counter()
        teacher = self.teacher(x_0.device)
        if tuple(x_0.shape[1:]) != teacher.data_shape:
            raise ConfigError(
                f"TeacherCoupling: the teacher {self.hparams.checkpoint!r} draws samples of shape "
                f"{list(teacher.data_shape)} but the data are {list(x_0.shape[1:])}; train the "
                "student on the teacher's data config."
            )
        sampler = teacher.sampler
        if self.hparams.steps is not None:
            sampler = build_sampler(sampler, {}, self.hparams.steps)
        scale = self.hparams.guidance_scale
        scale = teacher.hparams.guidance_scale if scale is None else scale
        model = guided_model(teacher.network, cond, scale if cond is not None else 1.0)
        drawn = sampler.sample(model, teacher.path, x_0).x.to(x_1.dtype)
        # no GPU sync for the accounting: on a GPU this is host time, the work being asynchronous
        self.pairs, self.seconds = self.pairs + len(x_0), self.seconds + time.perf_counter() - start
        return x_0, drawn
