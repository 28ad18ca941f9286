"""Learning-rate schedules stepped once per optimizer step.

Each is ``(optimizer, total_steps, **options) -> LambdaLR``; the module passes ``total_steps``
(Lightning's ``estimated_stepping_batches``) and configs set the options. Every schedule is a
closed-form factor of the step (``lr = base_lr * factor(step)``) inside torch's ``LambdaLR``: the
arithmetic is exact and testable, and a resumed run's schedule is fully described by its step
count, which Lightning restores. All start with an optional linear warm-up from ``base_lr /
warmup``; ``warmup_ratio`` (a share of ``total_steps``) wins over ``warmup_steps`` when set.

``plateau`` (``ReduceLROnPlateau`` on ``val/loss``) lives in :mod:`flowdiff.optim.plateau`.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

Factor = Callable[[int], float]


def warmup_steps_for(total_steps: int, warmup_steps: int = 0, warmup_ratio: float | None = None):
    """Warm-up length: ``int(warmup_ratio * total_steps)`` when the ratio is set, else
    ``warmup_steps``."""
    if warmup_ratio is not None:
        if not 0.0 <= warmup_ratio < 1.0:
            raise ValueError(
                f"warmup_ratio={warmup_ratio} must lie in [0, 1); "
                "e.g. 0.05 warms up over the first 5% of the steps."
            )
        return int(warmup_ratio * total_steps)
    if warmup_steps < 0:
        raise ValueError(f"warmup_steps={warmup_steps} must be >= 0.")
    return warmup_steps


def with_warmup(
    optimizer: Optimizer,
    after: Factor,
    total_steps: int,
    warmup_steps: int = 0,
    warmup_ratio: float | None = None,
) -> LambdaLR:
    """``LambdaLR`` ramping linearly over the warm-up, then following ``after(steps since the
    warm-up ended)``.

    Step ``s`` of the warm-up (0-based) uses ``(s + 1) / warmup`` so the first step already
    trains and the last one reaches the base learning rate.
    """
    warmup = warmup_steps_for(total_steps, warmup_steps, warmup_ratio)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return after(step - warmup)

    return LambdaLR(optimizer, factor)


def _decay_length(total_steps: int, warmup: int) -> int:
    return max(1, total_steps - warmup)


def constant(
    optimizer: Optimizer,
    total_steps: int,
    warmup_steps: int = 0,
    warmup_ratio: float | None = None,
) -> LambdaLR:
    """The base learning rate after the warm-up."""
    return with_warmup(optimizer, lambda step: 1.0, total_steps, warmup_steps, warmup_ratio)


def _decaying(
    optimizer: Optimizer,
    total_steps: int,
    warmup_steps: int,
    warmup_ratio: float | None,
    shape: Callable[[float], float],
) -> LambdaLR:
    """Warm-up, then the factor ``shape(progress)``, progress going 0 -> 1 over the decay."""
    length = _decay_length(total_steps, warmup_steps_for(total_steps, warmup_steps, warmup_ratio))

    def after(step: int) -> float:
        return shape(min(1.0, step / length))

    return with_warmup(optimizer, after, total_steps, warmup_steps, warmup_ratio)


def linear(
    optimizer: Optimizer,
    total_steps: int,
    warmup_steps: int = 0,
    warmup_ratio: float | None = None,
    min_lr_ratio: float = 0.0,
) -> LambdaLR:
    """Straight-line decay from the base rate to ``min_lr_ratio * base_lr`` at ``total_steps``."""
    return _decaying(
        optimizer,
        total_steps,
        warmup_steps,
        warmup_ratio,
        lambda progress: 1.0 - (1.0 - min_lr_ratio) * progress,
    )


def cosine(
    optimizer: Optimizer,
    total_steps: int,
    warmup_steps: int = 0,
    warmup_ratio: float | None = None,
    min_lr_ratio: float = 0.0,
) -> LambdaLR:
    """Half-cosine decay from the base rate to ``min_lr_ratio * base_lr`` at ``total_steps``."""
    return _decaying(
        optimizer,
        total_steps,
        warmup_steps,
        warmup_ratio,
        lambda progress: (
            min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
        ),
    )


def exponential(
    optimizer: Optimizer,
    total_steps: int,
    gamma: float = 0.999,
    warmup_steps: int = 0,
    warmup_ratio: float | None = None,
) -> LambdaLR:
    """``base_lr * gamma ** step`` (steps counted from the end of the warm-up)."""
    if not 0.0 < gamma <= 1.0:
        raise ValueError(f"gamma={gamma} must lie in (0, 1].")
    return with_warmup(optimizer, lambda step: gamma**step, total_steps, warmup_steps, warmup_ratio)


def step(
    optimizer: Optimizer,
    total_steps: int,
    step_size: int = 1000,
    gamma: float = 0.1,
    warmup_steps: int = 0,
    warmup_ratio: float | None = None,
) -> LambdaLR:
    """Multiply the rate by ``gamma`` every ``step_size`` optimizer steps."""
    if step_size < 1:
        raise ValueError(f"step_size={step_size} must be >= 1 optimizer step.")
    return with_warmup(
        optimizer, lambda s: gamma ** (s // step_size), total_steps, warmup_steps, warmup_ratio
    )


def multistep(
    optimizer: Optimizer,
    total_steps: int,
    milestones: Sequence[int] = (),
    gamma: float = 0.1,
    warmup_steps: int = 0,
    warmup_ratio: float | None = None,
) -> LambdaLR:
    """Multiply the rate by ``gamma`` at each milestone (optimizer steps since the warm-up)."""
    marks = sorted(int(m) for m in milestones)
    if marks and marks[0] < 1:
        raise ValueError(f"milestones={list(milestones)} must all be >= 1.")
    return with_warmup(
        optimizer,
        lambda s: gamma ** bisect.bisect_right(marks, s),
        total_steps,
        warmup_steps,
        warmup_ratio,
    )
