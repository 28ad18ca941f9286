"""Fused optimizer kernels (one kernel for all parameters), where Lightning can step them."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from lightning import Trainer
from lightning.pytorch.plugins.precision import MixedPrecision
from lightning.pytorch.utilities import rank_zero_info

from flowdiff.errors import ConfigError


def fused_where_possible(factory: Callable[..., Any], trainer: Trainer) -> Callable[..., Any]:
    """``factory`` (a partial optimizer) as configured, with ``fused=False`` where Lightning
    cannot step a fused optimizer, and without ``fused`` for optimizers that have no fused
    kernel (a ``_target_`` swapped under the adam/adamw configs).

    A fused optimizer unscales 16-bit gradients inside its own kernel, so Lightning's mixed
    precision plugin refuses to clip them first: ``trainer.gradient_clip_val`` together with
    ``16-mixed``/``bf16-mixed`` (the GPU presets) keeps the unfused kernels, with a note.
    """
    keywords = getattr(factory, "keywords", {})
    if keywords.get("fused") not in (None, True, False):
        raise ConfigError(
            f"optimizer.fused={keywords['fused']!r}: the optimizer's fused must be True, False "
            "or None (use the fused kernel where there is one)."
        )
    if not keywords.get("fused"):
        return factory
    if "fused" not in inspect.signature(factory.func).parameters:
        # e.g. model.optimizer._target_=torch.optim.NAdam over the adamw config: no such kernel
        others = {key: value for key, value in keywords.items() if key != "fused"}
        return functools.partial(factory.func, *factory.args, **others)
    clipping = (trainer.gradient_clip_val or 0) > 0
    if clipping and isinstance(trainer.precision_plugin, MixedPrecision):
        rank_zero_info(
            f"model.optimizer.fused=true turned off: Lightning cannot clip the gradients "
            f"(trainer.gradient_clip_val={trainer.gradient_clip_val}) of a fused optimizer "
            f"under trainer.precision={trainer.precision}."
        )
        return functools.partial(factory, fused=False)
    return factory
