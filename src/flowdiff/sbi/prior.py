"""A prior's support, and rejection of posterior draws that fall outside it.

A flow trained on simulations can put a little mass where the prior has none (e.g. beyond the
edges of a uniform prior). Those draws are rejected and redrawn, as sbi does; when almost every
draw is rejected, the posterior has collapsed outside the prior and sampling stops with an error
instead of looping.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from flowdiff.errors import DataError

log = logging.getLogger(__name__)


def inside_support(prior, theta: Tensor) -> Tensor:
    """``(N,)`` bool: which rows of ``theta`` ``(N, *theta_shape)`` the prior can produce.

    Uses ``prior.support.check`` when the prior has a support (torch distributions, sbi's
    ``BoxUniform``), else whether ``prior.log_prob`` is finite.
    """
    theta = theta.to(_device(prior, theta))
    support = getattr(prior, "support", None)
    if support is not None:
        try:
            inside = support.check(theta)
        except NotImplementedError:
            inside = None
        if inside is not None:
            return inside.reshape(len(theta), -1).all(1).cpu()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        log_p = prior.log_prob(theta)
    return torch.isfinite(log_p).reshape(len(theta), -1).all(1).cpu()


def box_bounds(prior, theta_shape=None) -> tuple[Tensor, Tensor] | None:
    """``(low, high)`` (shaped ``theta_shape`` when given) when the prior's support is a box
    with finite bounds on every parameter (a uniform prior, sbi's ``BoxUniform``), else
    ``None``."""
    support = getattr(prior, "support", None)
    while hasattr(support, "base_constraint"):  # constraints.independent(...)
        support = support.base_constraint
    low, high = getattr(support, "lower_bound", None), getattr(support, "upper_bound", None)
    if low is None or high is None:
        return None
    try:
        low, high = (torch.as_tensor(b).detach().float().cpu() for b in (low, high))
        if theta_shape is not None:
            low, high = low.expand(tuple(theta_shape)), high.expand(tuple(theta_shape))
    except (RuntimeError, TypeError, ValueError):
        return None
    finite = torch.isfinite(low).all() and torch.isfinite(high).all()
    return (low, high) if finite and bool((low < high).all()) else None


def _device(prior, theta: Tensor) -> torch.device:
    for name in ("low", "loc", "mean"):
        value = getattr(prior, name, None)
        if isinstance(value, Tensor):
            return value.device
    base = getattr(prior, "base_dist", None)
    return _device(base, theta) if base is not None else theta.device


@dataclass
class Rejection:
    """Accepted draws and how many were drawn.

    Attributes:
        samples: ``(n, B, *theta_shape)`` draws inside the prior's support.
        acceptance: ``(B,)`` share of draws accepted, per observation.
    """

    samples: Tensor
    acceptance: Tensor


def rejection_sample(
    draw: Callable[[int, Tensor], Tensor],
    accept: Callable[[Tensor], Tensor],
    n: int,
    batch: int,
    min_acceptance: float = 1e-3,
    max_factor: int = 20,
) -> Rejection:
    """Draw until each of ``batch`` observations has ``n`` accepted samples.

    Args:
        draw: ``draw(m, index)`` returns ``(m, len(index), *theta_shape)`` samples for the
            observations ``index``.
        accept: ``(K, *theta_shape) -> (K,)`` bool.
        n: accepted samples wanted per observation.
        batch: number of observations.
        min_acceptance: below this acceptance rate, measured over at least
            ``3 / min_acceptance`` draws (enough to tell), sampling stops.
        max_factor: each round draws at most ``max_factor * n`` per observation.

    The first round draws exactly ``n`` per observation (nothing is known of the acceptance
    yet, and with most priors every draw is accepted); later rounds draw 10% more than the
    measured acceptance says is missing, so one more round usually suffices.

    Raises:
        DataError: an observation's acceptance rate fell below ``min_acceptance``.
    """
    kept: list[list[Tensor]] = [[] for _ in range(batch)]
    count = torch.zeros(batch, dtype=torch.long)
    tried = torch.zeros(batch, dtype=torch.long)
    while (active := torch.nonzero(count < n).flatten()).numel():
        rate = (count[active].clamp(min=1) / tried[active].clamp(min=1)).min().item()
        need = int((n - count[active]).max())
        margin = 1.1 if int(tried.max()) else 1.0
        m = min(max_factor * n, math.ceil(margin * need / max(rate, min_acceptance)))
        drawn = draw(m, active)
        ok = accept(drawn.flatten(0, 1)).reshape(m, len(active))
        for j, b in enumerate(active.tolist()):
            kept[b].append(drawn[ok[:, j], j])
            count[b] += int(ok[:, j].sum())
            tried[b] += m
        _check_collapse(count, tried, min_acceptance)
    samples = torch.stack([torch.cat(parts)[:n] for parts in kept], dim=1)
    return Rejection(samples, count.double() / tried.double())


def _check_collapse(count: Tensor, tried: Tensor, min_acceptance: float) -> None:
    rate = count.double() / tried.clamp(min=1).double()
    collapsed = (tried >= 3 / min_acceptance) & (rate < min_acceptance)
    if collapsed.any():
        b = int(torch.nonzero(collapsed)[0])
        raise DataError(
            f"Only {int(count[b])} of {int(tried[b])} posterior draws for observation {b} lie "
            f"inside the prior's support (acceptance {float(rate[b]):.2g} < min_acceptance="
            f"{min_acceptance:g}): the estimated posterior has almost no mass where the prior "
            "has. Check that x is an observation the simulator can produce, train on more "
            "simulations, or sample with prior=None."
        )
