"""Multi-round inference for one observation with truncated-prior proposals (TSNPE, Deistler
et al. 2022): each round simulates from the prior restricted to the current posterior's
highest-probability region, then refits on every simulation so far.

Inside that region the proposal is proportional to the prior, so the posterior trained on it is
the posterior for ``x_o`` with no loss correction: it works for flow matching as it is. The
result is only valid for ``x_o`` (and observations whose posterior lies inside the region).

    rounds = TruncatedRounds(simulator, prior, x_o, simulations=[1000, 1000, 1000])
    posterior = rounds.run()
"""

from __future__ import annotations

import logging
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from flowdiff.errors import ConfigError, DataError
from flowdiff.metrics.likelihood import check_likelihood_options
from flowdiff.sbi.calibration_checks import check_count
from flowdiff.sbi.estimator import PosteriorEstimator
from flowdiff.sbi.inputs import as_float_tensor, check_finite, check_prior
from flowdiff.sbi.posterior import Posterior

log = logging.getLogger(__name__)


@dataclass
class Round:
    """What one round did: simulations drawn, the share of prior draws its proposal accepted
    (the truncated region's prior mass), and the threshold on ``log q(theta | x_o)``."""

    simulations: int
    prior_mass: float
    threshold: float | None


class TruncatedRounds:
    """Rounds of truncated-prior proposals for the observation ``x_o``.

    Args:
        simulator: ``simulator(theta)`` with ``theta`` ``(n, *theta_shape)`` returning ``x``
            ``(n, *x_shape)`` (tensors or arrays).
        prior: the prior (``sample``, ``log_prob``).
        x_o: the observation ``x_shape``.
        simulations: simulations per round, e.g. ``[1000, 1000]`` (the first from the prior).
        estimator: the :class:`PosteriorEstimator` refitted every round (default: one with
            this prior and no progress bar).
        quantile: the region keeps ``1 - quantile`` of the posterior's mass (sbi: 1e-4).
        tolerance: stop early when the region's prior mass changes by less than this share
            between rounds (it stopped shrinking).
        log_prob_options: how the density is integrated to find the region (rk4, 8 steps).
        region_samples: posterior draws that set the threshold.
    """

    def __init__(
        self,
        simulator: Callable,
        prior,
        x_o,
        simulations: Sequence[int],
        estimator: PosteriorEstimator | None = None,
        quantile: float = 1e-3,
        tolerance: float = 0.1,
        log_prob_options: dict | None = None,
        region_samples: int = 1000,
    ):
        if not callable(simulator):
            raise ConfigError(f"simulator={simulator!r} must be callable: theta -> x.")
        if (
            isinstance(simulations, numbers.Integral)
            or not simulations
            or not all(
                isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 1
                for n in simulations
            )
        ):
            raise ConfigError(
                f"simulations={simulations!r} must be a list of counts >= 1, one per round, "
                "e.g. [1000, 1000]."
            )
        if not 0 < quantile < 1:
            raise ConfigError(f"quantile={quantile!r} must lie in (0, 1), e.g. 1e-3.")
        check_prior(prior, tuple(torch.as_tensor(prior.sample((1,))).shape[1:]))
        self.simulator, self.prior, self.budget = simulator, prior, list(simulations)
        self.x_o = as_float_tensor(x_o, "x_o")
        check_finite(self.x_o.unsqueeze(0), "x_o")
        check_likelihood_options(**(log_prob_options or {}))
        check_count(region_samples, "region_samples")
        self.estimator = estimator or PosteriorEstimator(prior=prior, progress=False)
        self.quantile, self.tolerance = quantile, tolerance
        self.options = log_prob_options or {"method": "rk4", "steps": 8}
        self.region_samples = region_samples
        self.history: list[Round] = []
        self.theta: Tensor | None = None
        self.x: Tensor | None = None

    def run(self) -> Posterior:
        """All rounds (or until the region stops shrinking); returns the last posterior."""
        posterior, threshold, mass = None, None, 1.0
        for index, count in enumerate(self.budget):
            theta, mass = self._propose(posterior, threshold, count)
            self._add(theta, self._simulate(theta))
            if index == 0:
                self._check_x_o(tuple(self.x.shape[1:]))
            self.history.append(Round(count, mass, threshold))
            log.info("round %d: %d simulations, region prior mass %.3g", index + 1, count, mass)
            posterior = self.estimator.fit(self.theta, self.x)
            if self._converged():
                break
            threshold = self._threshold(posterior)
        return posterior

    def _check_x_o(self, x_shape: tuple[int, ...]) -> None:
        """``x_o`` is one observation shaped as the simulator's, checked before any training."""
        if tuple(self.x_o.shape) not in (x_shape, (1, *x_shape)):
            raise DataError(
                f"x_o has shape {list(self.x_o.shape)}, but simulator(theta) returns "
                f"observations of shape {list(x_shape)}; give the one observation to infer "
                "from, of that shape."
            )

    def _simulate(self, theta: Tensor) -> Tensor:
        x = as_float_tensor(self.simulator(theta), "simulator(theta)")
        if len(x) != len(theta):
            raise DataError(
                f"simulator returned {len(x)} rows for {len(theta)} parameter sets; it must "
                "return one x per theta."
            )
        return x

    def _add(self, theta: Tensor, x: Tensor) -> None:
        self.theta = theta if self.theta is None else torch.cat([self.theta, theta])
        self.x = x if self.x is None else torch.cat([self.x, x])

    def _converged(self) -> bool:
        if len(self.history) < 3:
            return False
        before, now = self.history[-2].prior_mass, self.history[-1].prior_mass
        return abs(before - now) <= self.tolerance * before

    def _threshold(self, posterior: Posterior) -> float:
        """``log q`` above which ``1 - quantile`` of the posterior's draws lie."""
        draws = posterior.sample((self.region_samples,), x=self.x_o)
        log_q = posterior.log_prob(draws, x=self.x_o, **self.options)
        return float(torch.quantile(log_q[torch.isfinite(log_q)], self.quantile))

    def _propose(self, posterior, threshold, count: int) -> tuple[Tensor, float]:
        """``count`` prior draws inside the region (all prior draws in the first round), and
        the share of prior draws the region accepted."""
        if posterior is None:
            return as_float_tensor(self.prior.sample((count,)), "prior.sample"), 1.0
        kept, tried, accepted = [], 0, 0
        while accepted < count:
            candidates = as_float_tensor(self.prior.sample((max(count, 1000),)), "prior.sample")
            log_q = posterior.log_prob(candidates, x=self.x_o, **self.options)
            inside = candidates[log_q >= threshold]
            kept.append(inside)
            tried, accepted = tried + len(candidates), accepted + len(inside)
            if tried >= 1000 * count and accepted < count:
                raise DataError(
                    f"The truncated region holds {accepted} of {tried} prior draws; too small "
                    "to fill a round. Lower quantile's strictness or simulate more per round."
                )
        return torch.cat(kept)[:count], accepted / max(tried, 1)
