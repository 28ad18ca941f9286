"""Distances between two samples of vectors: energy distance, MMD and (sliced) Wasserstein.

Every function takes two sample arrays ``x`` ``(n, D)`` and ``y`` ``(m, D)`` (NumPy or torch; any
trailing shape is flattened) and returns a float that is about 0 when both come from the same
distribution and grows as they part. The optimal-transport ones use POT (``ot``).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist


def as_matrix(samples) -> np.ndarray:
    """``samples`` ``(n, ...)`` as a float64 array ``(n, D)``."""
    if hasattr(samples, "detach"):
        samples = samples.detach().cpu().numpy()
    array = np.asarray(samples, dtype=np.float64)
    return array.reshape(len(array), -1)


def energy_distance(x, y) -> float:
    """Székely's energy distance ``2 E|X-Y| - E|X-X'| - E|Y-Y'|`` (V-statistic, >= 0).

    Args:
        x: samples ``(n, D)``.
        y: samples ``(m, D)``.
    """
    x, y = as_matrix(x), as_matrix(y)
    return float(2 * cdist(x, y).mean() - cdist(x, x).mean() - cdist(y, y).mean())


def median_bandwidth(x, y) -> float:
    """Median pairwise distance of the pooled samples: the usual RBF bandwidth heuristic."""
    pooled = np.concatenate([as_matrix(x), as_matrix(y)])
    distances = cdist(pooled, pooled)
    positive = distances[distances > 0]
    return float(np.median(positive)) if positive.size else 1.0


def mmd(x, y, bandwidth: float | None = None) -> float:
    """Squared maximum mean discrepancy with an RBF kernel (unbiased U-statistic).

    Args:
        x: samples ``(n, D)``, ``n >= 2``.
        y: samples ``(m, D)``, ``m >= 2``.
        bandwidth: kernel width ``h`` in ``exp(-|a-b|^2 / (2 h^2))``; the median heuristic
            when ``None``.

    Returns:
        The MMD² estimate; unbiased, so it can be slightly negative for equal distributions.
    """
    x, y = as_matrix(x), as_matrix(y)
    h = bandwidth or median_bandwidth(x, y)

    def kernel(a, b):
        return np.exp(-cdist(a, b, "sqeuclidean") / (2 * h * h))

    k_xx, k_yy = kernel(x, x), kernel(y, y)
    n, m = len(x), len(y)
    within_x = (k_xx.sum() - np.trace(k_xx)) / (n * (n - 1))
    within_y = (k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within_x + within_y - 2 * kernel(x, y).mean())


def wasserstein2(x, y) -> float:
    """Exact 2-Wasserstein distance between the empirical measures (``ot.emd2``).

    Costs O(n² D) memory and about O(n³) time: keep ``n`` to a few thousand.
    """
    x, y = as_matrix(x), as_matrix(y)
    import ot  # POT imports scikit-learn and matplotlib: only where used

    cost = ot.dist(x, y, metric="sqeuclidean")
    uniform_x, uniform_y = ot.unif(len(x)), ot.unif(len(y))
    return float(np.sqrt(max(ot.emd2(uniform_x, uniform_y, cost, numItermax=1_000_000), 0.0)))


def sliced_wasserstein(x, y, projections: int = 200, seed: int = 0) -> float:
    """Sliced 2-Wasserstein distance over ``projections`` random directions
    (``ot.sliced_wasserstein_distance``); cheap in any dimension."""
    x, y = as_matrix(x), as_matrix(y)
    import ot

    return float(ot.sliced_wasserstein_distance(x, y, n_projections=projections, seed=seed))
