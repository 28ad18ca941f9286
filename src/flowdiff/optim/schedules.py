"""Learning-rate schedules stepped once per optimizer step.

Each is ``(optimizer, total_steps, **options) -> LRScheduler``; the module passes
``total_steps`` (Lightning's ``estimated_stepping_batches``), configs set the options.
"""

from __future__ import annotations

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


def warmup_steps_for(total_steps: int, warmup_steps: int = 0, warmup_ratio: float | None = None):
    """Warm-up length: ``warmup_ratio * total_steps`` when the ratio is set, else
    ``warmup_steps``."""
    if warmup_ratio is not None:
        if not 0.0 <= warmup_ratio < 1.0:
            raise ValueError(f"warmup_ratio={warmup_ratio} must lie in [0, 1).")
        return int(warmup_ratio * total_steps)
    if warmup_steps < 0:
        raise ValueError(f"warmup_steps={warmup_steps} must be >= 0.")
    return warmup_steps


def constant(
    optimizer: Optimizer,
    total_steps: int,
    warmup_steps: int = 0,
    warmup_ratio: float | None = None,
) -> LambdaLR:
    """Linear warm-up from 0, then the base learning rate."""
    warmup = warmup_steps_for(total_steps, warmup_steps, warmup_ratio)
    return LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / warmup) if warmup else 1.0)


def cosine(
    optimizer: Optimizer,
    total_steps: int,
    warmup_steps: int = 0,
    warmup_ratio: float | None = None,
    min_lr_ratio: float = 0.0,
) -> LambdaLR:
    """Linear warm-up, then cosine decay to ``min_lr_ratio * base_lr`` at ``total_steps``."""
    warmup = warmup_steps_for(total_steps, warmup_steps, warmup_ratio)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return LambdaLR(optimizer, factor)
