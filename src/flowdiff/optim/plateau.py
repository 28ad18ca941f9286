"""Reduce the learning rate when the validation loss stops improving, and how Lightning steps a
schedule (the scheduler configuration that ``configure_optimizers`` returns)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from torch.optim import Optimizer
from torch.optim.lr_scheduler import ReduceLROnPlateau


def plateau(
    optimizer: Optimizer,
    total_steps: int,
    monitor: str = "val/loss",
    mode: str = "min",
    factor: float = 0.5,
    patience: int = 10,
    threshold: float = 1e-4,
    min_lr: float = 0.0,
    cooldown: int = 0,
) -> dict[str, Any]:
    """torch's ``ReduceLROnPlateau`` on ``monitor``, checked after every validation.

    It is the one schedule not stepped per optimizer step: it reacts to a validation metric, so
    Lightning steps it once per epoch (``patience`` counts validations) with the logged
    ``monitor``.

    Returns:
        Lightning's scheduler configuration (``scheduler``, ``interval``, ``monitor``).
    """
    del total_steps  # the plateau schedule does not depend on the run's length
    scheduler = ReduceLROnPlateau(
        optimizer,
        mode=mode,
        factor=factor,
        patience=patience,
        threshold=threshold,
        min_lr=min_lr,
        cooldown=cooldown,
    )
    return {"scheduler": scheduler, "interval": "epoch", "monitor": monitor, "strict": True}


def lr_scheduler_config(
    factory: Callable[..., Any], optimizer: Optimizer, total_steps: int
) -> dict[str, Any]:
    """Build a schedule from its Hydra partial and wrap it as Lightning's scheduler
    configuration.

    ``factory`` is one of :mod:`flowdiff.optim`'s schedules (given ``total_steps``) or any torch
    scheduler by ``_target_`` (given only the optimizer). Schedules returning a plain scheduler
    are stepped every optimizer step; a schedule may return its own configuration (see
    :func:`plateau`).
    """
    if _accepts(factory, "total_steps"):
        scheduler = factory(optimizer=optimizer, total_steps=total_steps)
    else:
        scheduler = factory(optimizer=optimizer)
    if isinstance(scheduler, dict):
        return scheduler
    if isinstance(scheduler, ReduceLROnPlateau):
        return {"scheduler": scheduler, "interval": "epoch", "monitor": "val/loss"}
    return {"scheduler": scheduler, "interval": "step"}


def _accepts(factory: Callable[..., Any], name: str) -> bool:
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )
