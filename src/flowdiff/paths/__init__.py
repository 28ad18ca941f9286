"""Probability paths: how data is corrupted and what the network must predict.

The classes are imported on first use (PEP 562): a flow-matching model does not import diffusers.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowdiff.paths.base import PathSample, ProbabilityPath
    from flowdiff.paths.diffusion import DiffusionPath
    from flowdiff.paths.flow_matching import FlowMatchingPath

#: Public name -> the module that defines it.
_HOMES = {
    "DiffusionPath": "flowdiff.paths.diffusion",
    "FlowMatchingPath": "flowdiff.paths.flow_matching",
    "PathSample": "flowdiff.paths.base",
    "ProbabilityPath": "flowdiff.paths.base",
}

__all__ = [
    "DiffusionPath",
    "FlowMatchingPath",
    "PathSample",
    "ProbabilityPath",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'flowdiff.paths' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
