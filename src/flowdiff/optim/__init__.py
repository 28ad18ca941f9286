"""Learning-rate schedules (optimizers are torch's own, chosen by ``_target_``)."""

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
    "linear",
    "lr_scheduler_config",
    "multistep",
    "plateau",
    "step",
    "warmup_steps_for",
]
