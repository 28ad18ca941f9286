"""Which weights of a checkpoint to use: the EMA (exponential moving average) or the raw ones.

Training keeps an EMA of the weights with a callback on Lightning's ``WeightAveraging``
(:mod:`flowdiff.training.callbacks.ema`). Its checkpoints hold the EMA weights under
``state_dict`` (so anything loading a checkpoint the usual way gets the EMA) and the raw,
optimised weights under ``current_model_state``. Checkpoints of runs without EMA hold only
``state_dict``, the raw weights. :func:`model_state_dict` is the one place that chooses; both
``GenerativeModule.load`` and ``flowdiff.model.loading.load_model`` go through it.
"""

from __future__ import annotations

from typing import Any

#: Where Lightning's ``WeightAveraging`` keeps the raw weights when it writes the averaged ones as
#: the checkpoint's ``state_dict``.
RAW_KEY = "current_model_state"


def has_ema(checkpoint: dict[str, Any]) -> bool:
    """Whether ``checkpoint`` was written with an EMA of the weights."""
    return RAW_KEY in checkpoint


def model_state_dict(checkpoint: dict[str, Any], ema: bool = True) -> dict[str, Any]:
    """The module's ``state_dict`` to load from a Lightning checkpoint.

    Args:
        checkpoint: the loaded ``.ckpt`` dictionary.
        ema: the EMA weights when the checkpoint has them (else the raw ones, the only ones
            there); ``False`` asks for the raw weights.
    """
    if ema or not has_ema(checkpoint):
        return checkpoint["state_dict"]
    return checkpoint[RAW_KEY]


def weights_label(checkpoint: dict[str, Any], ema: bool = True) -> str:
    """Which weights :func:`model_state_dict` gives: ``"ema"``, ``"raw"`` or, when the EMA was
    asked for but the run kept none, ``"raw (no EMA saved)"``."""
    if has_ema(checkpoint):
        return "ema" if ema else "raw"
    return "raw (no EMA saved)" if ema else "raw"
