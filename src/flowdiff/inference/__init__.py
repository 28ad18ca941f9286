"""Drawing samples from trained checkpoints: ``flowdiff-sample`` and its building blocks."""

from flowdiff.inference.conditions import Conditions, class_labels, resolve_conditions
from flowdiff.inference.sample_job import draw, generate_kwargs, sample
from flowdiff.inference.sampler_choice import build_sampler, default_device

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
