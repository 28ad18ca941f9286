"""Probability paths: how data is corrupted and what the network must predict.

The classes are imported on first use (PEP 562): a flow-matching model does not import diffusers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flowdiff import _lazy_exports

if TYPE_CHECKING:
    from flowdiff.paths.base import PathSample, ProbabilityPath
    from flowdiff.paths.diffusion import DiffusionPath
    from flowdiff.paths.flow_matching import FlowMatchingPath
    from flowdiff.paths.mean_flow import MeanFlowPath

#: Public name -> the module that defines it.
_HOMES = {
    "DiffusionPath": "flowdiff.paths.diffusion",
    "FlowMatchingPath": "flowdiff.paths.flow_matching",
    "MeanFlowPath": "flowdiff.paths.mean_flow",
    "PathSample": "flowdiff.paths.base",
    "ProbabilityPath": "flowdiff.paths.base",
}

__all__ = [
    "DiffusionPath",
    "FlowMatchingPath",
    "MeanFlowPath",
    "PathSample",
    "ProbabilityPath",
]


__getattr__, __dir__ = _lazy_exports(__name__, _HOMES)
