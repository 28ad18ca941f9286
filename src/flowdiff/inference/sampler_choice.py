"""A sampler for sampling or evaluation: the trained one with overrides, or another outright."""

from __future__ import annotations

from typing import Any

import torch
from hydra.utils import instantiate

from flowdiff.components import describe
from flowdiff.model.devices import check_device
from flowdiff.samplers.base import Sampler


def build_sampler(
    trained: Sampler, overrides: dict[str, Any], sampling_steps: int | None = None
) -> Sampler:
    """The trained sampler with ``overrides`` applied, or a new one when they name a
    ``_target_``; ``sampling_steps``, when given, is the same as ``overrides["steps"]``.

    Raises:
        ValueError: an option the sampler does not have, or a value it refuses (an unknown
            ``method``, ``steps=0``...), with the sampler's own message.
    """
    settings = {key: value for key, value in overrides.items() if value is not None}
    if sampling_steps is not None:
        settings["steps"] = sampling_steps
    config = settings if "_target_" in settings else {**describe(trained), **settings}
    try:
        instantiate({"_target_": config["_target_"], "_partial_": True})
    except Exception as error:
        raise ValueError(
            f"model.sampler._target_={config['_target_']!r} cannot be imported ({error}); use "
            "one of configs/model/sampler/ (ode, torchdyn, diffusers)."
        ) from error
    try:
        return instantiate(config)
    except Exception as error:  # Hydra wraps the sampler's own ValueError or TypeError
        cause = error.__cause__ or error
        given = f" with {settings}" if settings else ""
        raise ValueError(
            f"Cannot build the sampler {config['_target_']}{given}: {cause}"
        ) from error


def default_device(device: str) -> torch.device:
    """``auto`` picks CUDA when present, else the CPU; anything else is taken as given, once
    the machine is known to have it (:func:`~flowdiff.model.input_checks.check_device`)."""
    check_device(device)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)
