"""What :func:`flowdiff.evaluate` checks in its arguments before sampling, and in its results.

Errors are :class:`~flowdiff.errors.InputTypeError` (a ``TypeError``) or
:class:`~flowdiff.errors.InputValueError` (a ``ValueError``) naming the argument; metrics that
came out NaN/inf are reported with a :class:`~flowdiff.errors.NonFiniteSampleWarning`.
"""

from __future__ import annotations

import math
import numbers
import os
import warnings
from typing import Any

from lightning import LightningDataModule

from flowdiff.errors import InputTypeError, InputValueError, NonFiniteSampleWarning
from flowdiff.evaluation.posterior_calibration import CalibrationOptions
from flowdiff.evaluation.suite import MetricOptions
from flowdiff.metrics.likelihood import check_likelihood_options
from flowdiff.model.input_checks import check_options
from flowdiff.model.module import GenerativeModule
from flowdiff.model.option_checks import check_int


def _check_type(name: str, value: Any, kind: type | tuple[type, ...], fix: str) -> None:
    if value is not None and not isinstance(value, kind):
        raise InputTypeError(f"{name} must be {fix} or None, not a {type(value).__name__}.")


def check_evaluate_args(
    model: Any,
    datamodule: Any,
    sampler: Any,
    counts: dict[str, Any],
    options: dict[str, Any],
    guidance_scale: Any,
) -> None:
    """Refuse :func:`~flowdiff.evaluation.evaluate`'s arguments of the wrong type or range.

    Args:
        counts: ``num_samples``, ``batch_size``, ``seed``, ``nll_samples`` by name.
        options: ``nll_options``, ``metric_options``, ``calibration`` by name.
    """
    if not isinstance(model, (GenerativeModule, str, os.PathLike)):
        raise InputTypeError(
            f"model must be a GenerativeModule or a checkpoint path, not a {type(model).__name__}."
        )
    _check_type("datamodule", datamodule, LightningDataModule, "a LightningDataModule")
    check_options(sampler, None)
    minimum = {"num_samples": 1, "batch_size": 1, "seed": None, "nll_samples": 0}
    for name, value in counts.items():
        check_int(name, value, minimum[name])
    _check_type("nll_options", options["nll_options"], dict, "a dict of keyword arguments")
    check_likelihood_options(**(options["nll_options"] or {}))
    _check_type("metric_options", options["metric_options"], MetricOptions, "MetricOptions(...)")
    _check_type("calibration", options["calibration"], CalibrationOptions, "CalibrationOptions")
    if guidance_scale is None:
        return
    if isinstance(guidance_scale, bool) or not isinstance(guidance_scale, numbers.Real):
        raise InputTypeError(
            f"guidance_scale={guidance_scale!r} must be a number, not a "
            f"{type(guidance_scale).__name__}."
        )
    if not math.isfinite(guidance_scale):
        raise InputValueError(f"guidance_scale={guidance_scale} must be finite.")


def warn_nonfinite_metrics(metrics: dict[str, float]) -> None:
    """Warn, naming them, about metrics that came out NaN or inf (e.g. from samples that did)."""
    bad = sorted(key for key, value in metrics.items() if not math.isfinite(value))
    if bad:
        warnings.warn(
            f"flowdiff.evaluate: {', '.join(bad)} came out NaN or inf (samples holding NaN/inf, "
            "or too few samples for the metric); do not compare these numbers.",
            NonFiniteSampleWarning,
            stacklevel=3,
        )
