"""Learning-rate schedules and fused kernels (optimizers are torch's own, chosen by
``_target_``)."""

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
    "constant",
    "cosine",
    "exponential",
    "fused_where_possible",
    "linear",
    "lr_scheduler_config",
    "multistep",
    "plateau",
    "step",
    "warmup_steps_for",
]
