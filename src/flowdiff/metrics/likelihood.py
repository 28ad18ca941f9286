"""Log-likelihood of data under a flow-matching model, by integrating the learnt ODE backwards
with ``flow_matching.solver.ODESolver.compute_likelihood`` (instantaneous change of variables).

The model works in normalised units ``z = (x - shift) / scale``; the density is returned in the
data's own units, ``log p_x(x) = log p_z(z) - sum(log scale)``.
"""

from __future__ import annotations

import math
import numbers

import torch
from flow_matching.solver import ODESolver
from rich.console import Console
from rich.progress import Progress
from torch import Tensor

from flowdiff.errors import InputTypeError, InputValueError, NonFiniteError
from flowdiff.samplers.ode import ADAPTIVE_METHODS, METHODS

#: Data of at most this many dimensions gets the exact divergence (one backward pass per
#: dimension); larger data gets Hutchinson's unbiased estimate (one backward pass).
EXACT_MAX_DIM = 16


def standard_normal_log_prob(z: Tensor) -> Tensor:
    """``log N(z; 0, I)`` per row of ``z`` ``(B, D)``: the source density at ``t = 0``."""
    return -0.5 * z.pow(2).sum(1) - 0.5 * z.shape[1] * math.log(2 * math.pi)


def progress_console() -> Console:
    """Where the progress bar goes: stderr, shown only when it is a terminal."""
    return Console(stderr=True)


def _flat_velocity(model, shape: tuple[int, ...], cond: Tensor | None, on_time=None):
    """The network as ``v(x, t)`` on flattened states ``(B, D)``: the library's exact divergence
    indexes dimension 1, which is only every coordinate for flat data. ``on_time(t)`` is told
    the time of every evaluation (for the progress bar)."""

    def velocity(x: Tensor, t: Tensor) -> Tensor:
        if on_time is not None:
            on_time(t)
        batch = x.shape[0]
        t = torch.as_tensor(t, device=x.device, dtype=x.dtype).expand(batch)
        return model.network(x.reshape(batch, *shape), t, cond).reshape(batch, -1)

    return velocity


def _batch_log_likelihood(
    model, x: Tensor, cond: Tensor | None, exact: bool, options: dict, on_time=None
):
    z = model.normalizer.normalize(x).flatten(1)
    solver = ODESolver(velocity_model=_flat_velocity(model, tuple(x.shape[1:]), cond, on_time))
    _, log_p = solver.compute_likelihood(
        x_1=z, log_p0=standard_normal_log_prob, exact_divergence=exact, **options
    )
    return log_p.detach() + model.normalizer.log_abs_det(x).to(log_p)


def check_likelihood_options(
    exact=None, method="dopri5", steps=100, atol=1e-5, rtol=1e-5, batch_size=500, seed=0, **rest
) -> None:
    """Refuse options of :func:`log_likelihood` of the wrong type or range, naming them, before
    any integration (``steps=0`` was a ``ZeroDivisionError``, ``batch_size=0`` a ``range()``
    error, an unknown method torchdiffeq's own).

    Raises:
        InputTypeError: an unknown option.
        InputValueError: a value out of range.
    """
    if rest:
        raise InputTypeError(
            f"log-likelihood option(s) {sorted(rest)} unknown; use exact, method, steps, atol, "
            "rtol, batch_size or seed."
        )
    if method not in METHODS:
        raise InputValueError(
            f"method={method!r} is not a torchdiffeq method; choose one of {sorted(METHODS)}."
        )
    for name, value in (("steps", steps), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise InputValueError(f"{name}={value!r} must be a whole number >= 1.")
    for name, value in (("atol", atol), ("rtol", rtol)):
        real = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if not (real and math.isfinite(value) and value > 0):
            raise InputValueError(f"{name}={value!r} must be a positive number, e.g. 1e-5.")
    if exact is not None and not isinstance(exact, bool):
        raise InputTypeError(f"exact={exact!r} must be True, False or None (by dimension).")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise InputTypeError(f"seed={seed!r} must be a whole number.")


def _integrate(model, x: Tensor, cond, exact: bool, options: dict, on_time) -> Tensor:
    """:func:`_batch_log_likelihood`, torchdiffeq's bare ``AssertionError: underflow in dt``
    (an adaptive step that shrank to nothing: values far outside the training data) said as a
    :class:`~flowdiff.errors.NonFiniteError` with what to do."""
    try:
        return _batch_log_likelihood(model, x, cond, exact, options, on_time)
    except AssertionError as error:
        if "underflow in dt" not in str(error):
            raise
        raise NonFiniteError(
            f"the log-likelihood ODE (method={options['method']!r}) could not be integrated: "
            "its step size shrank to zero, as it does for values far outside the training data "
            f"(largest |value| here {float(x.abs().max()):.3g}); check those inputs, or use a "
            "fixed-step method (method='rk4', steps=...)."
        ) from None


def log_likelihood(
    model,
    x: Tensor,
    cond: Tensor | None = None,
    exact: bool | None = None,
    method: str = "dopri5",
    steps: int = 100,
    atol: float = 1e-5,
    rtol: float = 1e-5,
    batch_size: int = 500,
    seed: int = 0,
) -> Tensor:
    """``log p(x)`` in nats, per sample, under a flow-matching :class:`GenerativeModule`.

    Args:
        model: a GenerativeModule with a flow-matching path.
        x: data ``(N, *data_shape)`` in the data's own units.
        cond: conditions, one per sample, in the data's own units (float ones are normalised
            here, as :meth:`GenerativeModule.generate` does), or ``None``.
        exact: exact divergence or Hutchinson's estimator; by default exact when the data has
            at most :data:`EXACT_MAX_DIM` dimensions.
        method: a torchdiffeq method; adaptive ones (``dopri5``) use ``atol``/``rtol``,
            fixed-step ones take ``steps`` steps.
        steps: steps of fixed-step methods.
        atol: absolute tolerance of adaptive methods.
        rtol: relative tolerance of adaptive methods.
        batch_size: samples integrated together.
        seed: seed of Hutchinson's random probes.

    Returns:
        ``(N,)`` log-densities in the data's units.

    Raises:
        ValueError: the model is not a flow-matching model.
    """
    if getattr(model.path, "family", None) != "flow_matching":
        raise ValueError(
            f"The likelihood needs a flow-matching model; this one has a "
            f"{type(model.path).__name__}. Set nll=false for diffusion models."
        )
    check_likelihood_options(exact, method, steps, atol, rtol, batch_size, seed)
    dim = math.prod(x.shape[1:])
    exact = dim <= EXACT_MAX_DIM if exact is None else exact
    adaptive = method in ADAPTIVE_METHODS
    options = {"method": method, "atol": atol, "rtol": rtol}
    options["step_size"] = None if adaptive else 1.0 / steps
    parts = []
    console = progress_console()
    bar = Progress(console=console, transient=True, disable=not console.is_terminal)
    with torch.random.fork_rng(), bar:
        torch.manual_seed(seed)
        task = bar.add_task(f"log-likelihood of {len(x)} samples ({method})", total=len(x))
        for start in range(0, len(x), batch_size):
            part = slice(start, start + batch_size)
            chunk_cond = None if cond is None else model.normalize_cond(cond[part].to(model.device))
            chunk = x[part].to(model.device)
            # float(t) syncs a GPU: only when the bar is shown
            on_time = _reporter(bar, task, start, len(chunk)) if console.is_terminal else None
            parts.append(_integrate(model, chunk, chunk_cond, exact, options, on_time))
        bar.update(task, completed=len(x))
    return torch.cat(parts)


def _reporter(bar: Progress, task, start: int, size: int):
    """``on_time(t)`` for samples ``start:start + size``: the ODE runs from t = 1 to t = 0."""
    return lambda t: bar.update(task, completed=start + size * (1.0 - float(t)))


def bits_per_dim(log_p: Tensor, dim: int) -> Tensor:
    """Negative log-likelihood ``(N,)`` in nats turned into bits per dimension."""
    return -log_p / (dim * math.log(2))
