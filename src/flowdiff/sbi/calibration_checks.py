"""What the calibration checks (:func:`~flowdiff.sbi.calibration`,
:func:`~flowdiff.sbi.calibration_from_samples`, :func:`~flowdiff.sbi.posterior_c2st`) check in
their arguments before any draw is made: a NaN parameter or draw, a wrong-shaped batch or a
significance level out of range would otherwise give a confident-looking, wrong verdict.

Each check raises :class:`~flowdiff.errors.DataError` or :class:`~flowdiff.errors.ConfigError`
(both ``ValueError``) naming the argument and the fix.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import torch

from flowdiff.errors import ConfigError, DataError

#: fewest reference draws :func:`~flowdiff.sbi.posterior_c2st` takes (its classifier holds out
#: a validation share inside each fold)
MIN_REFERENCE = 10


def numbers_of(value: Any, name: str) -> np.ndarray:
    """``value`` (tensor, array or nested list of numbers) as a float64 array."""
    if torch.is_tensor(value):
        value = value.detach().cpu().double()
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise DataError(f"{name} must be a tensor or array of numbers ({error}).") from None
    if array.ndim == 0 or len(array) == 0:
        raise DataError(
            f"{name} has shape {list(array.shape)}; give one row per simulation, (N, ...) "
            "with N >= 1."
        )
    return array


def as_tensor(value: Any, name: str) -> torch.Tensor:
    """Observations as a float32 tensor (where they are, for a tensor)."""
    if torch.is_tensor(value):
        return value.float()
    try:
        return torch.as_tensor(np.asarray(value, dtype=np.float32))
    except (TypeError, ValueError) as error:
        raise DataError(f"{name} must be a tensor or array of numbers ({error}).") from None


def check_finite(array: np.ndarray, name: str) -> None:
    bad = ~np.isfinite(array)
    if bad.any():
        raise DataError(
            f"{name} holds {int(bad.sum())} NaN/inf values of {array.size}; calibration of "
            "non-finite values is meaningless: remove those simulations (or draws) first."
        )


def check_options(alpha: Any, seed: Any, labels: Any = None, dims: int | None = None) -> None:
    """``alpha`` in (0, 1), ``seed`` a whole number, ``labels`` one name per parameter."""
    real = isinstance(alpha, numbers.Real) and not isinstance(alpha, bool)
    if not (real and 0 < alpha < 1):
        raise ConfigError(f"alpha={alpha!r} must be a significance level in (0, 1), e.g. 0.01.")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ConfigError(f"seed={seed!r} must be a whole number.")
    wrong = labels is not None and (isinstance(labels, str) or len(labels) != dims)
    if dims is not None and wrong:
        raise ConfigError(f"labels={labels!r} must be a list of {dims} names, one per parameter.")


def check_count(value: Any, name: str, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ConfigError(f"{name}={value!r} must be a whole number >= {minimum}.")


def check_draws(theta: np.ndarray, samples: np.ndarray) -> None:
    """``samples`` ``(S, N, *theta_shape)``, ``S >= 1`` draws for each of the ``N`` rows of
    ``theta``; both finite."""
    dims = math.prod(theta.shape[1:])
    if samples.ndim < 2 or samples.shape[1] != len(theta) or math.prod(samples.shape[2:]) != dims:
        raise DataError(
            f"samples have shape {list(samples.shape)} but theta {list(theta.shape)}; give "
            f"samples (S, N, D): S draws for each of the N={len(theta)} rows of theta."
        )
    check_finite(theta, "theta")
    check_finite(samples, "samples")


def check_posterior(posterior: Any, theta: np.ndarray | None = None) -> None:
    """A posterior with ``sample``; its parameters shaped like ``theta`` where it says."""
    if not callable(getattr(posterior, "sample", None)):
        raise ConfigError(
            f"posterior={type(posterior).__name__} must have .sample(shape, x=...): a "
            "flowdiff Posterior or an sbi posterior."
        )
    shape = getattr(posterior, "theta_shape", None)
    if theta is not None and shape is not None and math.prod(theta.shape[1:]) != math.prod(shape):
        raise DataError(
            f"theta has shape {list(theta.shape)}, but the posterior is over parameters of "
            f"shape {list(shape)}; give (N, {', '.join(map(str, shape))})."
        )


def check_pairs(theta: np.ndarray, x: np.ndarray) -> None:
    if len(theta) != len(x):
        raise DataError(
            f"theta has {len(theta)} rows but x has {len(x)}; give one observation x per "
            "true parameter theta (N pairs simulated from the joint)."
        )
    check_finite(theta, "theta")
    check_finite(x, "x")


def check_reference(reference: np.ndarray, posterior: Any, folds: Any) -> None:
    check_count(folds, "folds", 2)
    shape = getattr(posterior, "theta_shape", None)
    if shape is not None and math.prod(reference.shape[1:]) != math.prod(shape):
        raise DataError(
            f"reference has shape {list(reference.shape)}, but the posterior is over "
            f"parameters of shape {list(shape)}; give reference draws (M, "
            f"{', '.join(map(str, shape))})."
        )
    if len(reference) < max(MIN_REFERENCE, 2 * folds):
        raise DataError(
            f"reference holds {len(reference)} draws; C2ST needs at least "
            f"{max(MIN_REFERENCE, 2 * folds)} for folds={folds} (1,000 or more for a "
            "meaningful score)."
        )
    check_finite(reference, "reference")
