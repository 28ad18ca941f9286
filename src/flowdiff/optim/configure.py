"""A module's optimizer and learning-rate schedule, built from the partials its config gives."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from lightning import Trainer
from torch import nn

from flowdiff.optim.fused import fused_where_possible
from flowdiff.optim.plateau import lr_scheduler_config

OptimizerFactory = Callable[..., torch.optim.Optimizer]
SchedulerFactory = Callable[..., torch.optim.lr_scheduler.LRScheduler]


def parameter_groups(module: nn.Module, weight_decay: float | None) -> list[dict[str, Any]]:
    """Weight decay for weight matrices and kernels only; none for biases, norms, embeddings'
    null vectors and other 1-D parameters."""
    decay, no_decay = [], []
    for parameter in module.parameters():
        if parameter.requires_grad:
            (decay if parameter.ndim >= 2 else no_decay).append(parameter)
    groups = [{"params": decay}, {"params": no_decay, "weight_decay": 0.0}]
    if weight_decay is not None:
        groups[0]["weight_decay"] = weight_decay
    return [group for group in groups if group["params"]]


def configure_optimizers(
    module: nn.Module,
    optimizer: OptimizerFactory | None,
    lr_scheduler: SchedulerFactory | None,
    trainer: Trainer,
) -> Any:
    """What ``LightningModule.configure_optimizers`` returns: ``optimizer(parameter_groups)``
    (fused where the trainer's device allows), with ``lr_scheduler(optimizer, total_steps)``
    stepped every optimizer step when given.

    Raises:
        ValueError: ``optimizer`` is ``None`` (a module built for sampling only).
    """
    if optimizer is None:
        raise ValueError(
            "optimizer=None: training needs an optimizer, e.g. "
            "optimizer=functools.partial(torch.optim.AdamW, lr=1e-3)."
        )
    weight_decay = getattr(optimizer, "keywords", {}).get("weight_decay")
    built = fused_where_possible(optimizer, trainer)(parameter_groups(module, weight_decay))
    if lr_scheduler is None:
        return built
    total_steps = int(trainer.estimated_stepping_batches)
    scheduler = lr_scheduler_config(lr_scheduler, built, total_steps)
    return {"optimizer": built, "lr_scheduler": scheduler}
