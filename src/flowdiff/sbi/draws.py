"""Drawing from the posterior's network: sample shapes, solver steps, all observations through
the network together, rejection outside the prior, and no NaN left unreported."""

from __future__ import annotations

import copy
import math
import numbers

import torch
from torch import Tensor

from flowdiff.errors import ConfigError, DataError, NonFiniteError
from flowdiff.sbi.prior import inside_support, rejection_sample

#: Rows through the network in one call when ``max_sampling_batch_size`` is not given, on the
#: CPU: the activations of a 128-wide MLP for 8,192 rows (4 MiB a layer) stay in the cache, while
#: at 100,000 rows every elementwise operation streams 50 MB through memory; 10 x 10,000
#: posterior draws took half the CPU time at 8,192 rows (the measurement:
#: studies/results/benchmarks_details-2026-12-07.md, section "Speed at small budgets").
CPU_ROWS = 8192
#: The same on an accelerator, where large calls keep the device busy.
ACCELERATOR_ROWS = 100_000


def rows_per_call(batch: int | None, device: torch.device) -> int:
    """Rows through the network in one call: ``batch`` when given (sbi's
    ``max_sampling_batch_size``), else :data:`CPU_ROWS` on the CPU and :data:`ACCELERATOR_ROWS`
    on an accelerator."""
    if batch is not None:
        if isinstance(batch, bool) or not isinstance(batch, numbers.Integral) or batch < 1:
            raise ConfigError(
                f"max_sampling_batch_size={batch!r} must be a whole number >= 1 (or None: "
                f"{CPU_ROWS} rows on the CPU, {ACCELERATOR_ROWS} on an accelerator)."
            )
        return int(batch)
    return CPU_ROWS if torch.device(device).type == "cpu" else ACCELERATOR_ROWS


def sample_size(sample_shape) -> tuple[tuple[int, ...], int]:
    """``sample_shape`` (an int or a sequence of ints >= 0) as a tuple and its product."""
    if isinstance(sample_shape, numbers.Integral) and not isinstance(sample_shape, bool):
        sample_shape = (sample_shape,)
    try:
        shape = tuple(int(n) for n in sample_shape)
        ok = all(isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in sample_shape)
    except (TypeError, ValueError):
        ok = False
    if not ok or min(shape, default=0) < 0:
        raise ConfigError(
            f"sample_shape={sample_shape!r} must be whole numbers >= 0, e.g. (1000,) for 1000 "
            "draws per observation."
        )
    return shape, math.prod(shape)


def check_steps(steps) -> None:
    """``steps`` is ``None`` or a whole number >= 1."""
    if steps is not None and (
        isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1
    ):
        raise ConfigError(f"steps={steps!r} must be a whole number >= 1 (or None).")


def with_steps(sampler, steps: int | None):
    """The trained sampler, or a copy of it taking ``steps`` steps (every sampler's constructor
    argument), built from its recorded arguments in Python."""
    if steps is None:
        return sampler
    arguments = {**copy.deepcopy(dict(sampler.hparams)), "steps": steps}
    return type(sampler)(**arguments)


@torch.no_grad()
def _draw(model, sampler, x_o: Tensor, m: int, generator, batch: int | None) -> Tensor:
    """``(m, B, *theta_shape)``: ``m`` draws for each of ``B`` observations, about ``batch`` rows
    (see :func:`rows_per_call`) through the network at a time.

    When one observation's draws fill at least half a call, each call holds one observation, its
    ``x`` one row expanded: networks that see that (:class:`~flowdiff.networks.MLP`) embed the
    condition once per call instead of once per row. Otherwise calls mix observations."""
    rows = rows_per_call(batch, x_o.device)
    if 2 * m < rows:
        return _draw_mixed(model, sampler, x_o, m, generator, max(1, rows // len(x_o)))
    columns = []
    for x in x_o:
        parts = []
        for start in range(0, m, rows):
            cond = x.unsqueeze(0).expand(min(rows, m - start), *x.shape)
            parts.append(model.sample(cond=cond, sampler=sampler, generator=generator))
        columns.append(torch.cat(parts))
    return torch.stack(columns, dim=1)


def _draw_mixed(model, sampler, x_o: Tensor, m: int, generator, per_call: int) -> Tensor:
    """``(m, B, *theta_shape)``, ``per_call`` draws of every observation in each call."""
    x_shape = x_o.shape[1:]
    parts = []
    for start in range(0, m, per_call):
        count = min(per_call, m - start)
        cond = x_o.unsqueeze(0).expand(count, *x_o.shape).reshape(-1, *x_shape)
        out = model.sample(cond=cond, sampler=sampler, generator=generator)
        parts.append(out.reshape(count, len(x_o), *model.data_shape))
    return torch.cat(parts)


def draw_batched(model, sampler, x_o, n, generator, prior, min_acceptance, batch):
    """``n`` draws per observation ``(n, B, *theta_shape)`` and the acceptance rates (``None``
    without a prior)."""
    if prior is None:
        return _draw(model, sampler, x_o, n, generator, batch), None

    def draw(m: int, index: Tensor) -> Tensor:
        return _draw(model, sampler, x_o[index.to(x_o.device)], m, generator, batch)

    def accept(theta: Tensor) -> Tensor:
        return inside_support(prior, theta).to(theta.device)

    rejection = rejection_sample(draw, accept, n, len(x_o), min_acceptance)
    return rejection.samples, rejection.acceptance


def check_drawn(values: Tensor, what: str = "sample") -> None:
    """Never hand back NaN silently: the network produced non-finite values.

    Raises:
        NonFiniteError: naming how many values and what to try.
    """
    bad = torch.isnan(values) if what == "log_prob" else ~torch.isfinite(values)
    if bad.any():
        raise NonFiniteError(
            f"posterior.{what} produced {int(bad.sum())} NaN/inf values of {values.numel()}: "
            "the network is not finite for these observations (far outside the simulations, "
            "or a diverged fit). Check x against the training simulations, or refit."
        )


def check_density(model) -> None:
    """Only a flow-matching posterior has a density (by its ODE).

    Raises:
        DataError: naming the path and what to use instead.
    """
    if getattr(model.path, "family", None) != "flow_matching":
        raise DataError(
            "log_prob needs a flow-matching posterior (PosteriorEstimator(path="
            f"'flow_matching')); this one has a {type(model.path).__name__}, which gives "
            "draws (sample) but no density."
        )
