"""Samplers: turn noise into data with a trained network.

The classes are imported on first use (PEP 562), so that code which never touches the diffusers
sampler (a flow-matching posterior, ``import flowdiff.sbi``) does not pay for importing
diffusers.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowdiff.samplers.base import ModelFn, Sampler, SamplerOutput, check_compatible
    from flowdiff.samplers.diffusers import DiffusersSampler
    from flowdiff.samplers.ode import ODESampler
    from flowdiff.samplers.torchdyn import TorchdynSampler

#: Public name -> the module that defines it.
_HOMES = {
    "DiffusersSampler": "flowdiff.samplers.diffusers",
    "ModelFn": "flowdiff.samplers.base",
    "ODESampler": "flowdiff.samplers.ode",
    "Sampler": "flowdiff.samplers.base",
    "SamplerOutput": "flowdiff.samplers.base",
    "TorchdynSampler": "flowdiff.samplers.torchdyn",
    "check_compatible": "flowdiff.samplers.base",
}

__all__ = [
    "DiffusersSampler",
    "ModelFn",
    "ODESampler",
    "Sampler",
    "SamplerOutput",
    "TorchdynSampler",
    "check_compatible",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'flowdiff.samplers' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
