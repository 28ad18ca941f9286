"""Calibration checks of a posterior on simulations it was not trained on: SBC ranks with a
uniformity test, TARP expected coverage, and C2ST against reference posterior samples.

    report = calibration(posterior, theta_test, x_test)
    report.passed, report.metrics(), report.sbc_figure(), report.coverage_figure()
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from flowdiff.errors import DataError
from flowdiff.metrics.calibration import (
    rank_pvalues,
    sbc_ranks,
    tarp_credibility,
    uniformity_pvalue,
)
from flowdiff.sbi import calibration_checks as checks

if TYPE_CHECKING:  # matplotlib and scikit-learn are imported where used: a fast import
    from matplotlib.figure import Figure


@dataclass
class Calibration:
    """SBC and coverage of a posterior over ``N`` simulations, ``S`` draws each.

    Attributes:
        ranks: ``(N, D)`` SBC ranks in ``[0, S]``.
        num_samples: ``S``.
        sbc_pvalues: ``(D,)`` p-values of uniform ranks, per parameter.
        credibility: ``(N,)`` TARP credibility levels; uniform when calibrated.
        coverage_pvalue: p-value of uniform credibility levels.
        alpha: significance level of the tests (SBC: Bonferroni over the ``D`` parameters).
        labels: parameter names, for the figures.
    """

    ranks: np.ndarray
    num_samples: int
    sbc_pvalues: np.ndarray
    credibility: np.ndarray
    coverage_pvalue: float
    alpha: float = 0.01
    labels: list[str] | None = None

    @property
    def sbc_passed(self) -> bool:
        """No parameter's ranks depart from uniform at level ``alpha / D``."""
        return bool(self.sbc_pvalues.min() > self.alpha / len(self.sbc_pvalues))

    @property
    def coverage_passed(self) -> bool:
        """Expected coverage does not depart from the nominal level at level ``alpha``."""
        return self.coverage_pvalue > self.alpha

    @property
    def passed(self) -> bool:
        return self.sbc_passed and self.coverage_passed

    def metrics(self) -> dict[str, float]:
        """Flat numbers for tables: the smallest SBC p-value, the coverage p-value, the largest
        gap between expected coverage and credibility level, and pass flags (1/0)."""
        levels = np.linspace(0, 1, 101)
        coverage = np.array([(self.credibility < level).mean() for level in levels])
        return {
            "sbc_min_p": float(self.sbc_pvalues.min()),
            "sbc_pass": float(self.sbc_passed),
            "coverage_p": float(self.coverage_pvalue),
            "coverage_max_gap": float(np.abs(coverage - levels).max()),
            "coverage_pass": float(self.coverage_passed),
        }

    def sbc_figure(self) -> Figure:
        from flowdiff.plotting.calibration import sbc_figure

        return sbc_figure(self.ranks, self.num_samples, self.labels, pvalues=self.sbc_pvalues)

    def coverage_figure(self) -> Figure:
        from flowdiff.plotting.calibration import coverage_figure

        return coverage_figure(self.credibility, self.coverage_pvalue)


def calibration_from_samples(
    theta, samples, alpha: float = 0.01, seed: int = 0, labels: list[str] | None = None
) -> Calibration:
    """:class:`Calibration` of posterior draws ``samples`` ``(S, N, D)`` for true parameters
    ``theta`` ``(N, D)`` (any posterior, e.g. an exact one or sbi's).

    Raises:
        DataError, ConfigError: mis-shaped or non-finite ``theta``/``samples``, ``alpha``
            outside (0, 1), before any rank is computed.
    """
    theta = checks.numbers_of(theta, "theta")
    samples = checks.numbers_of(samples, "samples")
    checks.check_draws(theta, samples)
    theta = theta.reshape(len(theta), -1)
    checks.check_options(alpha, seed, labels, theta.shape[1])
    ranks = sbc_ranks(theta, samples)
    credibility = tarp_credibility(theta, samples, seed)
    return Calibration(
        ranks=ranks,
        num_samples=samples.shape[0],
        sbc_pvalues=rank_pvalues(ranks, samples.shape[0], seed),
        credibility=credibility,
        coverage_pvalue=uniformity_pvalue(credibility),
        alpha=alpha,
        labels=labels,
    )


def calibration(
    posterior,
    theta,
    x,
    num_samples: int = 100,
    alpha: float = 0.01,
    seed: int = 0,
    labels: list[str] | None = None,
) -> Calibration:
    """SBC and TARP coverage of ``posterior`` on simulations ``(theta, x)`` from the joint
    (held out from training): ``num_samples`` draws for each of the ``N`` observations, all in
    one batched call.

    Args:
        posterior: a :class:`~flowdiff.sbi.Posterior`, an sbi posterior, or anything with
            ``sample_batched((S,), x=(N, *x_shape))`` or ``sample((S,), x=...)`` returning
            ``(S, N, *theta_shape)``.
        theta: true parameters ``(N, *theta_shape)``.
        x: their simulated observations ``(N, *x_shape)``.
        num_samples: draws per observation ``S``.
        alpha: significance level of the uniformity tests.
        seed: seed of the draws, the rank jitter and the TARP reference points.
        labels: parameter names for the figures.

    Raises:
        DataError, ConfigError: bad ``theta``, ``x`` or options, before anything is drawn.
    """
    theta = checks.numbers_of(theta, "theta")
    checks.check_pairs(theta, checks.numbers_of(x, "x"))
    checks.check_posterior(posterior, theta)
    checks.check_count(num_samples, "num_samples")
    checks.check_options(alpha, seed, labels, theta[0].size)
    x = checks.as_tensor(x, "x")
    samples = draws(posterior, num_samples, x, seed, batched=True)
    return calibration_from_samples(theta, samples.double().cpu().numpy(), alpha, seed, labels)


def draws(posterior, count: int, x, seed: int, batched: bool):
    """``count`` draws from any posterior: ``sample_batched`` for a batch of observations when
    it has one (sbi's ``sample`` takes one x), ``generator=`` when ``sample`` takes it, else
    the global seed."""
    options = {}
    parameters = inspect.signature(posterior.sample).parameters
    if "show_progress_bars" in parameters:  # sbi's: no bar inside a check
        options["show_progress_bars"] = False
    if "generator" in parameters:
        options["generator"] = torch.Generator().manual_seed(seed)
    else:
        torch.manual_seed(seed)
    if batched and hasattr(posterior, "sample_batched"):
        return posterior.sample_batched((count,), x=x, **options)
    return posterior.sample((count,), x=x, **options)


def posterior_c2st(posterior, x_o, reference, seed: int = 0, folds: int = 5) -> float:
    """C2ST between the posterior's draws for one observation ``x_o`` and ``reference``
    posterior samples ``(M, D)`` (e.g. exact ones): 0.5 is indistinguishable."""
    from flowdiff.metrics.c2st import c2st

    checks.check_posterior(posterior)
    reference = checks.numbers_of(reference, "reference")
    checks.check_reference(reference, posterior, folds)
    checks.check_options(0.5, seed)
    x_o = checks.as_tensor(x_o, "x_o")
    x_shape = getattr(posterior, "x_shape", None)
    if x_shape is not None and tuple(x_o.shape) not in (tuple(x_shape), (1, *x_shape)):
        raise DataError(
            f"x_o has shape {list(x_o.shape)}; posterior_c2st compares the draws for ONE "
            f"observation {list(x_shape)} with its reference posterior draws."
        )
    reference = reference.reshape(len(reference), -1)
    drawn = draws(posterior, len(reference), x_o, seed, batched=False)
    return c2st(reference, drawn.double().reshape(len(reference), -1).numpy(), folds, seed)
