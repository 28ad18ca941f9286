"""Drawing samples from trained checkpoints: ``flowdiff-sample`` and its building blocks."""

from flowdiff.sampling.conditions import Conditions, class_labels, resolve_conditions
from flowdiff.sampling.run import draw, generate_kwargs, sample
from flowdiff.sampling.sampler_config import build_sampler, default_device

__all__ = [
    "Conditions",
    "build_sampler",
    "class_labels",
    "default_device",
    "draw",
    "generate_kwargs",
    "resolve_conditions",
    "sample",
]
