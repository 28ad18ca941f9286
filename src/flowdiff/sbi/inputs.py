"""Checking what a user hands the posterior API: simulations, observations and priors.

Each check raises one :class:`~flowdiff.errors.DataError` that names the argument and the shapes
involved, before anything is trained or drawn.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
from torch import Tensor

from flowdiff.errors import DataError
from flowdiff.sbi.prior import inside_support

#: What :meth:`PosteriorEstimator.fit` may do with simulations holding NaN or inf.
NONFINITE_POLICIES = ("refuse", "drop")


def as_float_tensor(value, name: str) -> Tensor:
    """``value`` (tensor, array or nested list) as a float32 CPU tensor."""
    try:
        tensor = torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError) as error:
        raise DataError(f"{name} must be a tensor or array of numbers ({error}).") from error
    if not (tensor.is_floating_point() or tensor.dtype in (torch.int32, torch.int64)):
        raise DataError(f"{name} must hold numbers; it holds {tensor.dtype}.")
    return tensor.detach().to("cpu", torch.float32)


def check_simulations(theta: Tensor, x: Tensor) -> None:
    """``theta`` ``(N, *theta_shape)`` and ``x`` ``(N, *x_shape)``: one row per simulation."""
    for name, value in (("theta", theta), ("x", x)):
        if value.dim() < 2:
            raise DataError(
                f"{name} has shape {list(value.shape)}; give one row per simulation, shape "
                f"(N, *shape), e.g. {name}[:, None] for a single number per simulation."
            )
    for name, value in (("theta", theta), ("x", x)):
        if value.shape[1:].numel() == 0:
            raise DataError(
                f"{name} has shape {list(value.shape)}: each simulation holds no values; give "
                f"at least one number per simulation, (N, *shape) with no zero in shape."
            )
    if len(theta) != len(x):
        raise DataError(
            f"theta has {len(theta)} rows (shape {list(theta.shape)}) but x has {len(x)} "
            f"(shape {list(x.shape)}); give one simulated x per parameter set theta."
        )
    if len(theta) < 2:
        raise DataError(f"theta and x hold {len(theta)} simulation; give at least 2.")


def _bad_rows(value: Tensor) -> Tensor:
    return (~torch.isfinite(value)).flatten(1).any(1)


def _counts(value: Tensor, name: str) -> str:
    nan, inf = int(torch.isnan(value).sum()), int(torch.isinf(value).sum())
    return f"{name}: {nan} NaN and {inf} inf values in {int(_bad_rows(value).sum())} rows"


def handle_nonfinite(theta: Tensor, x: Tensor, nonfinite: str) -> tuple[Tensor, Tensor]:
    """Refuse simulations holding NaN/inf (with counts), or drop them with a warning.

    Raises:
        DataError: non-finite values under ``nonfinite="refuse"``, an unknown policy, or no
            simulation left after dropping.
    """
    if nonfinite not in NONFINITE_POLICIES:
        raise DataError(f"nonfinite={nonfinite!r}; choose one of {list(NONFINITE_POLICIES)}.")
    bad = _bad_rows(theta) | _bad_rows(x)
    if not bad.any():
        return theta, x
    counts = [
        _counts(value, name)
        for name, value in (("theta", theta), ("x", x))
        if _bad_rows(value).any()
    ]
    summary = f"{'; '.join(counts)}; {int(bad.sum())} of {len(theta)} simulations affected"
    if nonfinite == "refuse":
        raise DataError(
            f"{summary}. Remove those simulations, or pass nonfinite='drop' to fit() to drop "
            "them with a warning."
        )
    if bad.all():
        raise DataError(f"{summary}: dropping them leaves no simulation.")
    warnings.warn(f"{summary}; dropped (nonfinite='drop').", stacklevel=3)
    return theta[~bad], x[~bad]


def observation_batch(x_o: Tensor, x_shape: Sequence[int]) -> tuple[Tensor, bool]:
    """``x_o`` as a batch ``(B, *x_shape)``, and whether it was a single observation.

    Raises:
        DataError: ``x_o`` is neither ``x_shape`` nor ``(B, *x_shape)``.
    """
    x_shape = tuple(x_shape)
    if tuple(x_o.shape) == x_shape:
        return x_o.unsqueeze(0), True
    if tuple(x_o.shape[1:]) == x_shape and len(x_o) > 0:
        return x_o, False
    raise DataError(
        f"x has shape {list(x_o.shape)}, but the posterior was trained on observations of "
        f"shape {list(x_shape)}: give one observation {list(x_shape)} or a batch "
        f"[B, {', '.join(map(str, x_shape))}]."
    )


def check_prior(prior, theta_shape: Sequence[int]) -> None:
    """A prior has ``sample`` and ``log_prob``, and draws parameters shaped like theta's."""
    if prior is None:
        return
    methods = [getattr(prior, name, None) for name in ("sample", "log_prob")]
    if not all(callable(method) for method in methods):
        raise DataError(
            f"prior={type(prior).__name__} needs .sample(shape) and .log_prob(theta), like a "
            "torch.distributions distribution or sbi's BoxUniform."
        )
    try:
        drawn = torch.as_tensor(prior.sample((2,)))
    except Exception as error:
        raise DataError(
            f"prior={type(prior).__name__}: prior.sample((2,)) failed ({error}); give a prior "
            "whose sample(shape) returns a tensor (shape, *theta_shape)."
        ) from error
    if tuple(drawn.shape[1:]) != tuple(theta_shape):
        raise DataError(
            f"prior draws parameters of shape {list(drawn.shape[1:])} but theta has shape "
            f"{list(theta_shape)} per simulation; give a prior over all {list(theta_shape)} "
            "parameters (e.g. BoxUniform(low, high) with low/high of that shape)."
        )


def check_prior_support(prior, theta: Tensor) -> None:
    """Every simulated ``theta`` ``(N, *theta_shape)`` lies where the prior has mass: the
    simulations must come from the prior (or a proposal inside its support).

    Raises:
        DataError: naming how many rows fall outside, and the first one.
    """
    if prior is None:
        return
    inside = inside_support(prior, theta)
    if not inside.all():
        first = int(torch.nonzero(~inside)[0])
        raise DataError(
            f"{int((~inside).sum())} of {len(theta)} rows of theta lie outside the prior's "
            f"support (first: row {first}, {theta[first].tolist()}), so this prior cannot have "
            "produced them; pass the prior the simulations were drawn from (or prior=None)."
        )


def check_finite(value: Tensor, name: str) -> None:
    """Refuse NaN/inf in an observation or parameter given to ``sample`` / ``log_prob``.

    Raises:
        DataError: naming the argument and the first row affected.
    """
    bad = _bad_rows(value) if value.dim() > 1 else ~torch.isfinite(value)
    if bad.any():
        first = int(torch.nonzero(bad)[0])
        raise DataError(
            f"{name} holds NaN or inf in {int(bad.sum())} of {len(value)} rows (first: row "
            f"{first}); a posterior needs finite values: remove or replace those rows."
        )


def pair_rows(theta: Tensor, x_o: Tensor, single_x: bool) -> tuple[Tensor, Tensor]:
    """``theta`` ``(N, ...)`` and observations ``x_o`` ``(B, ...)`` as one row each: one x
    shared by all theta, one theta for all x, or one per row."""
    if single_x or len(x_o) == 1:
        return theta, x_o.expand(len(theta), *x_o.shape[1:])
    if len(theta) == 1:
        return theta.expand(len(x_o), *theta.shape[1:]), x_o
    if len(theta) != len(x_o):
        raise DataError(
            f"theta has {len(theta)} rows but x has {len(x_o)}; give one x, or one per theta."
        )
    return theta, x_o
