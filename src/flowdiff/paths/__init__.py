"""Probability paths: how data is corrupted and what the network must predict."""

from flowdiff.paths.base import PathSample, ProbabilityPath
from flowdiff.paths.diffusion import DiffusionPath
from flowdiff.paths.flow_matching import FlowMatchingPath

__all__ = ["DiffusionPath", "FlowMatchingPath", "PathSample", "ProbabilityPath"]
