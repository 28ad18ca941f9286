"""Samplers: turn noise into data with a trained network."""

from flowdiff.samplers.base import ModelFn, Sampler, SamplerOutput, check_compatible
from flowdiff.samplers.diffusers import DiffusersSampler
from flowdiff.samplers.ode import ODESampler
from flowdiff.samplers.torchdyn import TorchdynSampler

__all__ = [
    "DiffusersSampler",
    "ModelFn",
    "ODESampler",
    "Sampler",
    "SamplerOutput",
    "TorchdynSampler",
    "check_compatible",
]
