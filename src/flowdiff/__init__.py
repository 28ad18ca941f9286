"""flowdiff: flow matching and diffusion models on PyTorch Lightning + Hydra.

The main classes and functions, each with one import path::

    from flowdiff import GenerativeModule, PosteriorEstimator, Posterior, evaluate

They are imported on first use (PEP 562), so that ``import flowdiff`` (and every command's
start) stays light.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flowdiff.config import resolvers

__version__ = "0.1.0"

#: public name -> the module that defines it
_EXPORTS = {
    "GenerativeModule": "flowdiff.model.module",
    "PosteriorEstimator": "flowdiff.sbi.estimator",
    "Posterior": "flowdiff.sbi.posterior",
    "evaluate": "flowdiff.evaluation.api",
    "Evaluation": "flowdiff.evaluation.api",
    "compose_config": "flowdiff.config.compose",
    "train": "flowdiff.training.train_job",
    "FlowMatchingPath": "flowdiff.paths.flow_matching",
    "DiffusionPath": "flowdiff.paths.diffusion",
    "ODESampler": "flowdiff.samplers.ode",
    "TorchdynSampler": "flowdiff.samplers.torchdyn",
    "DiffusersSampler": "flowdiff.samplers.diffusers",
}
__all__ = [
    "DiffusersSampler",
    "DiffusionPath",
    "Evaluation",
    "FlowMatchingPath",
    "GenerativeModule",
    "ODESampler",
    "Posterior",
    "PosteriorEstimator",
    "TorchdynSampler",
    "compose_config",
    "evaluate",
    "train",
]

if TYPE_CHECKING:
    from flowdiff.config.compose import compose_config
    from flowdiff.evaluation.api import Evaluation, evaluate
    from flowdiff.model.module import GenerativeModule
    from flowdiff.paths.diffusion import DiffusionPath
    from flowdiff.paths.flow_matching import FlowMatchingPath
    from flowdiff.samplers.diffusers import DiffusersSampler
    from flowdiff.samplers.ode import ODESampler
    from flowdiff.samplers.torchdyn import TorchdynSampler
    from flowdiff.sbi.estimator import PosteriorEstimator
    from flowdiff.sbi.posterior import Posterior
    from flowdiff.training.train_job import train

resolvers.register()


def _lazy_exports(package: str, homes: dict[str, str]) -> tuple[Callable, Callable]:
    """PEP 562 ``__getattr__`` and ``__dir__`` for ``package``: each public name in ``homes``
    (name -> the module defining it) is imported from its module on first use. Every package
    of flowdiff that exports lazily uses this one pair."""

    def __getattr__(name: str) -> Any:  # noqa: N807 (the module hook's name)
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(homes[name]), name)

    def __dir__() -> list[str]:  # noqa: N807
        return sorted([*vars(sys.modules[package]), *homes])

    return __getattr__, __dir__


__getattr__, __dir__ = _lazy_exports(__name__, _EXPORTS)
