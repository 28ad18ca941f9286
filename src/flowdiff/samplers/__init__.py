"""Samplers: turn noise into data with a trained network.

The classes are imported on first use (PEP 562), so that code which never touches the diffusers
sampler (a flow-matching posterior, ``import flowdiff.sbi``) does not pay for importing
diffusers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flowdiff import _lazy_exports

if TYPE_CHECKING:
    from flowdiff.samplers.base import ModelFn, Sampler, SamplerOutput, check_compatible
    from flowdiff.samplers.diffusers import DiffusersSampler
    from flowdiff.samplers.mean_flow import MeanFlowSampler
    from flowdiff.samplers.ode import ODESampler
    from flowdiff.samplers.torchdyn import TorchdynSampler

#: Public name -> the module that defines it.
_HOMES = {
    "DiffusersSampler": "flowdiff.samplers.diffusers",
    "MeanFlowSampler": "flowdiff.samplers.mean_flow",
    "ModelFn": "flowdiff.samplers.base",
    "ODESampler": "flowdiff.samplers.ode",
    "Sampler": "flowdiff.samplers.base",
    "SamplerOutput": "flowdiff.samplers.base",
    "TorchdynSampler": "flowdiff.samplers.torchdyn",
    "check_compatible": "flowdiff.samplers.base",
}

__all__ = [
    "DiffusersSampler",
    "MeanFlowSampler",
    "ModelFn",
    "ODESampler",
    "Sampler",
    "SamplerOutput",
    "TorchdynSampler",
    "check_compatible",
]


__getattr__, __dir__ = _lazy_exports(__name__, _HOMES)
