"""MeanFlow distillation of a fitted posterior: a student ``q(theta | x)`` that draws in one or
two jumps of its learned average velocity.

    posterior = PosteriorEstimator().fit(theta, x)
    fast = mean_flow_posterior(posterior)         # or posterior.mean_flow()
    samples = fast.sample((10_000,), x=x_o)       # one network call per draw

The student starts from the teacher's weights (exact on empty intervals: flowdiff's time
embedding reduces a pair ``(t, t)`` to ``t``) and trains through the teacher's config, callbacks
and ``Trainer`` on :class:`~flowdiff.paths.MeanFlowPath` with the teacher's velocity as ``v``
(:class:`~flowdiff.distillation.TeacherVelocity`): one teacher call per training sample, not a
whole teacher trajectory as reflow's pairs.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

from flowdiff.distillation.posterior_reflow import check_posterior_teacher, train_student
from flowdiff.distillation.teacher_velocity import TeacherVelocity
from flowdiff.paths.mean_flow import MeanFlowPath
from flowdiff.samplers.mean_flow import MeanFlowSampler
from flowdiff.sbi.posterior import Posterior


def mean_flow_posterior(
    posterior: Posterior,
    steps: int = 1,
    max_epochs: int = 200,
    interval_ratio: float = 0.5,
    output_dir: str | Path | None = None,
    progress: bool = False,
) -> Posterior:
    """Distil ``posterior`` into a mean flow that draws in ``steps`` calls.

    Args:
        posterior: a flow-matching posterior from :meth:`PosteriorEstimator.fit` on straight
            paths (the default ``scheduler=condot``), with its run config and simulations.
        steps: jumps (network calls) the student samples with; 1 or 2.
        max_epochs: a cap on the student's epochs (early stopping as for the teacher).
        interval_ratio: :class:`~flowdiff.paths.MeanFlowPath`'s share of pairs ``s > t``.
        output_dir: the student's run folder; ``None`` trains in a temporary folder.
        progress: show the progress bar.

    Returns:
        A :class:`Posterior` around the student whose :meth:`~Posterior.sample` takes ``steps``
        jumps (``steps=`` there changes it). Its ``reflow_cost`` holds ``train_seconds``
        (wall, the teacher's calls included).
    """
    teacher = check_posterior_teacher(posterior, max_epochs, "mean_flow_posterior")
    velocity = TeacherVelocity.from_module(teacher)
    velocity.teacher(teacher.device)  # refuses a teacher on curved paths before training
    sampler = MeanFlowSampler(steps=steps)  # refuses steps < 1
    options = {"interval_ratio": interval_ratio}
    parts = {
        "network": copy.deepcopy(teacher.network).train().requires_grad_(True),
        "path": MeanFlowPath(**options, teacher=velocity),
        "sampler": sampler,
    }
    start = time.perf_counter()
    fast = train_student(posterior, parts, max_epochs, output_dir, progress)
    fast.model.path = MeanFlowPath(**options)  # sampling needs no teacher
    fast.reflow_cost = {"train_seconds": time.perf_counter() - start}
    return fast
