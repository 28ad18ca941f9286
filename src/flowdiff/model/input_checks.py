"""What :class:`~flowdiff.model.GenerativeModule` checks in its callers' arguments, before any
sampling time is spent, and in what it returns (no NaN without a warning by name).

Each check raises :class:`~flowdiff.errors.InputTypeError` (a ``TypeError``) or
:class:`~flowdiff.errors.InputValueError` (a ``ValueError``) naming the argument and the fix.
"""

from __future__ import annotations

import inspect
import math
import numbers
import warnings
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from flowdiff.errors import InputTypeError, InputValueError, NonFiniteSampleWarning
from flowdiff.networks.conditioning import LABELS, VECTOR, ConditionInput


def _positional_capacity(function: Any) -> float:
    """How many positional arguments ``function`` takes (``inf`` with ``*args``)."""
    parameters = inspect.signature(function).parameters.values()
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if any(p.kind == inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return math.inf
    return sum(p.kind in kinds for p in parameters)


def check_parts(network: Any, path: Any, sampler: Any, data_shape: Any) -> None:
    """Refuse a network that cannot be called as ``network(x_t, t, cond)``, a path or sampler
    without the methods flowdiff calls, and a ``data_shape`` that is not positive integers."""
    if not isinstance(network, nn.Module):
        raise InputTypeError(
            f"network must be a torch.nn.Module with forward(x_t, t, cond=None), not a "
            f"{type(network).__name__}; wrap it in an nn.Module."
        )
    try:
        capacity = _positional_capacity(network.forward)
    except (TypeError, ValueError):  # no signature to read (e.g. a C extension): trust it
        capacity = math.inf
    if capacity < 3:
        raise InputTypeError(
            f"network={type(network).__name__}: its forward takes {capacity} positional "
            "argument(s), but flowdiff calls network(x_t, t, cond) (cond None when "
            "unconditional); give it forward(self, x_t, t, cond=None), or wrap it in a module "
            "that does."
        )
    for name, part, method in (("path", path, "sample"), ("sampler", sampler, "sample")):
        if not callable(getattr(part, method, None)):
            raise InputTypeError(
                f"{name} must be a flowdiff {name} (with a {method}() method), not a "
                f"{type(part).__name__}; see flowdiff.paths and flowdiff.samplers."
            )
    shape = list(data_shape) if isinstance(data_shape, Sequence) else None
    if not shape or not all(isinstance(n, numbers.Integral) and n >= 1 for n in shape):
        raise InputValueError(
            f"data_shape={data_shape!r} must be a non-empty list of positive integers: the shape "
            "of one sample, e.g. [2] or [1, 8, 8]."
        )


def check_count(num_samples: Any) -> int | None:
    """``num_samples`` as an ``int`` (``None`` passes)."""
    if num_samples is None:
        return None
    if isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral):
        raise InputTypeError(
            f"num_samples={num_samples!r} must be an int (the number of samples), not a "
            f"{type(num_samples).__name__}."
        )
    if num_samples < 0:
        raise InputValueError(f"num_samples={num_samples} must be >= 0.")
    return int(num_samples)


def check_generate_args(
    module: Any, num_samples: Any, cond: Any, sampler: Any, generator: Any
) -> int:
    """The number of samples ``GenerativeModule.generate`` draws, after checking its arguments
    (see :func:`check_count`, :func:`check_options`, :func:`check_cond`)."""
    num_samples = check_count(num_samples)
    check_options(sampler, generator)
    if isinstance(cond, Tensor) and cond.dim() and num_samples not in (None, len(cond)):
        raise InputValueError(
            f"num_samples={num_samples} but {len(cond)} conditions given; give one condition "
            "per sample, or leave num_samples out."
        )
    check_cond(cond, module.network)
    if cond is not None:
        return len(cond)
    if num_samples is None:
        raise InputValueError("Give num_samples (an int >= 0) or cond, one per sample.")
    return num_samples


def check_guidance(guidance_scale: Any, network: nn.Module) -> None:
    """Refuse a guidance scale that is not a finite number, or that needs ``drop_cond`` from a
    network without it."""
    if isinstance(guidance_scale, bool) or not isinstance(guidance_scale, numbers.Real):
        raise InputTypeError(
            f"guidance_scale={guidance_scale!r} must be a number (1 is no guidance), not a "
            f"{type(guidance_scale).__name__}."
        )
    if not math.isfinite(guidance_scale):
        raise InputValueError(f"guidance_scale={guidance_scale} must be finite (1: no guidance).")
    if guidance_scale != 1.0 and "drop_cond" not in inspect.signature(network.forward).parameters:
        raise InputValueError(
            f"guidance_scale={guidance_scale} needs a network whose forward takes drop_cond; "
            f"{type(network).__name__} does not (use guidance_scale=1)."
        )


def check_options(sampler: Any, generator: Any) -> None:
    """Refuse a sampler or generator of the wrong type."""
    if sampler is not None and not callable(getattr(sampler, "sample", None)):
        raise InputTypeError(
            f"sampler must be a flowdiff sampler (e.g. ODESampler('rk4', 8)), not a "
            f"{type(sampler).__name__}."
        )
    if generator is not None and not isinstance(generator, torch.Generator):
        raise InputTypeError(
            f"generator must be a torch.Generator (torch.Generator().manual_seed(0)), not a "
            f"{type(generator).__name__}."
        )


def condition_input(network: nn.Module) -> ConditionInput | None:
    """The network's :class:`ConditionInput`, for flowdiff networks; ``None`` for others and
    for networks that embed ``cond`` before it reaches one (``embeds_cond``, e.g.
    :class:`flowdiff.sbi.EmbeddedNetwork`)."""
    if getattr(network, "embeds_cond", False):
        return None
    return next((m for m in network.modules() if isinstance(m, ConditionInput)), None)


def check_cond(cond: Any, network: nn.Module) -> None:
    """Refuse conditions of the wrong type, dtype, shape or range, or holding NaN/inf."""
    if cond is None:
        return
    if not isinstance(cond, Tensor):
        raise InputTypeError(
            f"cond must be a torch.Tensor with one condition per sample, not a "
            f"{type(cond).__name__}; convert it with torch.as_tensor(cond)."
        )
    if cond.dim() == 0:
        raise InputValueError("cond is a scalar; give one condition per sample, shape (B, ...).")
    spec = condition_input(network)
    if spec is not None:
        _check_against(cond, spec, network)
    if cond.is_floating_point() and cond.numel() and not bool(torch.isfinite(cond).all()):
        bad = int((~torch.isfinite(cond)).flatten(1).any(1).sum()) if cond.dim() > 1 else None
        rows = f" in {bad} of {len(cond)} conditions" if bad is not None else ""
        raise InputValueError(
            f"cond holds NaN or inf values{rows}; give finite conditions (remove or replace "
            "those rows)."
        )


def _num_classes(spec: ConditionInput, network: nn.Module) -> int | None:
    """How many labels the network knows: its condition embedding's, else its ``num_classes``
    setting (the U-Net embeds labels with diffusers' own embedding)."""
    if spec.embedding is not None:
        return spec.embedding.num_classes
    settings = getattr(network, "hparams", {})
    return settings.get("num_classes") or None


def _check_against(cond: Tensor, spec: ConditionInput, network: nn.Module) -> None:
    name = str(spec.owner)
    if spec.kind is None:
        raise InputValueError(
            f"cond was given (shape {list(cond.shape)}) but the network {name} is "
            "unconditional; call without cond."
        )
    if spec.kind == LABELS:
        num_classes = _num_classes(spec, network)
        if cond.is_floating_point() or cond.is_complex() or cond.dtype == torch.bool:
            raise InputTypeError(
                f"cond has dtype {cond.dtype} but {name} takes class labels: give an integer "
                "tensor, e.g. torch.tensor([0, 3]) or cond.long()."
            )
        if cond.dim() != 1:
            raise InputValueError(
                f"cond has shape {list(cond.shape)}; class labels are one per sample, shape (B,)."
            )
        low, high = (int(cond.min()), int(cond.max())) if cond.numel() else (0, 0)
        if num_classes is not None and (low < 0 or high >= num_classes):
            raise InputValueError(
                f"cond holds labels from {int(cond.min())} to {int(cond.max())}, but {name} knows "
                f"{num_classes} classes: give labels in [0, {num_classes - 1}]."
            )
        return
    if not cond.is_floating_point():
        raise InputTypeError(
            f"cond has dtype {cond.dtype} but {name} takes float conditions of shape "
            f"{list(spec.cond_shape)}; convert with cond.float()."
        )
    fits = tuple(cond.shape[1:]) == spec.cond_shape
    if spec.kind == VECTOR and not fits:  # vectors are flattened: any layout of that size
        fits = cond.dim() > 1 and cond[0].numel() == math.prod(spec.cond_shape)
    if not fits:
        raise InputValueError(
            f"cond has shape {list(cond.shape)} but {name} takes conditions of shape "
            f"(B, {', '.join(map(str, spec.cond_shape))}): one per sample."
        )


def warn_nonfinite(x: Tensor, where: str = "GenerativeModule.generate") -> None:
    """Warn (:class:`~flowdiff.errors.NonFiniteSampleWarning`) when samples ``(B, ...)`` hold
    NaN or inf, naming how many."""
    if not x.numel():
        return
    bad = ~torch.isfinite(x.reshape(len(x), -1)).all(1)
    count = int(bad.sum())
    if count:
        warnings.warn(
            f"{where}: {count} of {len(x)} samples hold NaN or inf values (the network or "
            "sampler diverged: check the checkpoint's val/loss, try more sampling steps or "
            "another solver).",
            NonFiniteSampleWarning,
            stacklevel=3,
        )


def warn_nonfinite_weights(module: nn.Module, source: Any) -> None:
    """Warn (:class:`~flowdiff.errors.NonFiniteSampleWarning`) when loaded weights hold NaN/inf:
    everything sampled from them would too."""
    bad = [
        name
        for name, value in module.state_dict().items()
        if value.is_floating_point() and not bool(torch.isfinite(value).all())
    ]
    if bad:
        warnings.warn(
            f"{str(source)!r}: {len(bad)} weight tensors hold NaN or inf (e.g. {bad[0]}), so its "
            "samples will too: the run diverged; load an earlier checkpoint of it.",
            NonFiniteSampleWarning,
            stacklevel=3,
        )
