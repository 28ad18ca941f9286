"""Learning-rate schedules, fused kernels and parameter groups (optimizers are torch's own,
chosen by ``_target_``)."""

from flowdiff.optim.configure import configure_optimizers, parameter_groups
from flowdiff.optim.fused import fused_where_possible
from flowdiff.optim.plateau import lr_scheduler_config, plateau
from flowdiff.optim.schedules import (
    constant,
    cosine,
    exponential,
    linear,
    multistep,
    step,
    warmup_steps_for,
)

__all__ = [
    "configure_optimizers",
    "constant",
    "cosine",
    "exponential",
    "fused_where_possible",
    "linear",
    "lr_scheduler_config",
    "multistep",
    "parameter_groups",
    "plateau",
    "step",
    "warmup_steps_for",
]
