"""Calibration of a posterior estimator over simulations ``(theta_i, x_i)`` from the joint:
simulation-based calibration (SBC) ranks and expected coverage (TARP).

A calibrated posterior ``q(theta | x)`` makes the rank of the true ``theta_i`` among ``S`` draws
from ``q(theta | x_i)`` uniform on ``{0, ..., S}`` for each parameter (Talts et al. 2018), and
the credibility level at which a random-reference ball first covers ``theta_i`` uniform on
``[0, 1]`` (TARP, Lemos et al. 2023), so its expected coverage equals the nominal level. An
over-confident posterior piles the ranks at both ends and covers less often than it claims.
Both are tested for uniformity with a Kolmogorov-Smirnov test.
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def _arrays(theta, samples) -> tuple[np.ndarray, np.ndarray]:
    theta = np.asarray(theta, dtype=np.float64).reshape(len(theta), -1)
    samples = np.asarray(samples, dtype=np.float64)
    samples = samples.reshape(samples.shape[0], samples.shape[1], -1)
    if samples.shape[1:] != theta.shape:
        raise ValueError(
            f"samples have shape {list(samples.shape)} but theta {list(theta.shape)}; give "
            "samples (S, N, D) drawn for each of the N pairs."
        )
    return theta, samples


def sbc_ranks(theta, samples) -> np.ndarray:
    """Ranks ``(N, D)`` of each true parameter among its posterior draws.

    Args:
        theta: true parameters ``(N, D)`` (or ``(N, *shape)``, flattened).
        samples: posterior draws ``(S, N, D)``, ``S`` for each pair.

    Returns:
        Integers in ``[0, S]``: how many draws lie below the true value.
    """
    theta, samples = _arrays(theta, samples)
    return (samples < theta[None]).sum(0)


def rank_pvalues(ranks, num_samples: int, seed: int = 0) -> np.ndarray:
    """``(D,)`` p-values of the hypothesis that each parameter's ranks are uniform.

    Ranks on ``{0, ..., S}`` are spread uniformly within their unit cell (``(r + u) / (S + 1)``
    with ``u ~ U(0, 1)``), which is exactly uniform on ``[0, 1]`` under the hypothesis, and
    tested with a one-sample Kolmogorov-Smirnov test.
    """
    ranks = np.asarray(ranks, dtype=np.float64)
    jitter = np.random.default_rng(seed).uniform(size=ranks.shape)
    spread = (ranks + jitter) / (num_samples + 1)
    return np.array([stats.kstest(column, "uniform").pvalue for column in spread.T])


def tarp_credibility(theta, samples, seed: int = 0) -> np.ndarray:
    """``(N,)`` credibility level at which TARP's ball around a random reference point first
    contains the true parameter: the share of posterior draws closer to the reference.

    Parameters are scaled to the true parameters' range, and reference points drawn uniformly
    over it, one per pair. The count of closer draws ``k`` in ``{0, ..., S}`` is spread within
    its cell, ``(k + u) / (S + 1)``, so a calibrated posterior gives exactly uniform levels.
    """
    theta, samples = _arrays(theta, samples)
    low, high = theta.min(0), theta.max(0)
    scale = np.where(high > low, high - low, 1.0)
    theta, samples = (theta - low) / scale, (samples - low) / scale
    rng = np.random.default_rng(seed)
    reference = rng.uniform(size=theta.shape)
    to_truth = np.linalg.norm(theta - reference, axis=-1)
    to_draws = np.linalg.norm(samples - reference[None], axis=-1)
    closer = (to_draws < to_truth[None]).sum(0)
    return (closer + rng.uniform(size=closer.shape)) / (len(samples) + 1)


def expected_coverage(credibility, levels) -> np.ndarray:
    """Expected coverage at each credibility level: the share of pairs covered, ``P(f < a)``."""
    credibility = np.asarray(credibility, dtype=np.float64)
    return np.array([(credibility < level).mean() for level in np.asarray(levels)])


def uniformity_pvalue(values) -> float:
    """Kolmogorov-Smirnov p-value of ``values`` in ``[0, 1]`` being uniform."""
    return float(stats.kstest(np.asarray(values, dtype=np.float64), "uniform").pvalue)
