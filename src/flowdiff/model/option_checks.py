"""Type and range checks of :class:`~flowdiff.model.GenerativeModule`'s options and of what
``from_checkpoint`` is given; each error names the argument and the fix.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import torch

from flowdiff.errors import InputTypeError, InputValueError


def check_module_options(**options: Any) -> None:
    """Refuse ``GenerativeModule`` options of the wrong type before their ranges are checked:
    numbers that are strings or bools, NaN, a non-integer ``sample_levels``, an optimizer or
    schedule that is not a factory (``functools.partial(torch.optim.AdamW, lr=1e-3)``)."""
    for name in ("aux_loss_weight", "cond_drop_prob", "guidance_scale"):
        value = options[name]
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise InputTypeError(
                f"{name}={value!r} must be a number, not a {type(value).__name__}."
            )
        if not math.isfinite(value):
            raise InputValueError(f"{name}={value} must be finite.")
    if options["sample_levels"] is not None:
        check_int("sample_levels", options["sample_levels"])
    for name in ("optimizer", "lr_scheduler"):
        factory = options[name]
        if factory is not None and (
            not callable(factory) or isinstance(factory, torch.optim.Optimizer)
        ):
            raise InputTypeError(
                f"{name} must be a factory called with the parameters (e.g. "
                "functools.partial(torch.optim.AdamW, lr=1e-3)) or None, not a "
                f"{type(factory).__name__}."
            )


def check_int(name: str, value: Any, minimum: int | None = None) -> int:
    """``value`` as an ``int`` (numpy integers too), refusing bools, floats and strings, and
    values below ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputTypeError(f"{name}={value!r} must be an int, not a {type(value).__name__}.")
    if minimum is not None and value < minimum:
        raise InputValueError(f"{name}={value} must be >= {minimum}.")
    return int(value)


def check_checkpoint_dict(checkpoint: Any, ema: Any) -> None:
    """Refuse what ``GenerativeModule.from_checkpoint`` cannot rebuild a module from."""
    if isinstance(checkpoint, (str, bytes)) or hasattr(checkpoint, "__fspath__"):
        raise InputTypeError(
            f"checkpoint={str(checkpoint)!r} is a path; from_checkpoint takes the dict "
            "read_checkpoint returns: use GenerativeModule.load_from_checkpoint(path)."
        )
    if not isinstance(checkpoint, dict):
        raise InputTypeError(
            f"checkpoint must be the dict read_checkpoint(path) returns, not a "
            f"{type(checkpoint).__name__}."
        )
    missing = [
        key for key in ("flowdiff", "hyper_parameters", "state_dict") if key not in checkpoint
    ]
    if missing:
        raise InputValueError(
            f"checkpoint has no {', '.join(missing)}: it was not written by flowdiff's "
            "GenerativeModule; use a checkpoint from flowdiff-train."
        )
    if not isinstance(ema, bool):
        raise InputTypeError(f"ema={ema!r} must be True (EMA weights) or False (raw weights).")
