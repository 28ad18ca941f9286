"""Logistic population growth under harvesting, observed on a log scale at a few census times.

The population follows ``dN/dt = r N (1 - N / K) - h N`` from ``N(0) = n0``: growth rate ``r``,
carrying capacity ``K``, harvest rate ``h``. Parameters ``theta = (r, h, log10 K)``, uniform on
``[0.2, 1.5] x [0, 0.6] x [1, 3]``. Observations: ``log N(t_j) + eps_j`` at the census times,
``eps_j ~ N(0, noise^2)``.

The ODE is a Bernoulli equation ``dN/dt = a N - b N^2`` with ``a = r - h`` and ``b = r / K``,
solved in closed form. The data see only ``(a, b)``: the posterior is a thin curved filament in
``theta`` (``h = r - a``, ``log10 K = log10 r - log10 b`` as ``r`` varies).

Exact samples: the map ``(r, h, log10 K) -> (r, a, beta = log10 b)`` has unit Jacobian, so the
posterior of ``(a, beta)`` is the likelihood times the length of the interval of ``r`` that keeps
``theta`` inside the prior's box, and ``r`` given ``(a, beta)`` is uniform on that interval.
``(a, beta)`` is drawn by inverse CDF on a fine grid around the likelihood's mass (exact up to the
grid's resolution), then ``r`` uniformly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class HarvestedGrowth:
    """3 parameters ``(r, h, log10 K)``, ``len(times)`` observations (log population)."""

    times: tuple[float, ...] = (2.0, 5.0, 10.0, 20.0)
    noise: float = 0.1
    n0: float = 5.0
    low: np.ndarray = field(default_factory=lambda: np.array([0.2, 0.0, 1.0]))
    high: np.ndarray = field(default_factory=lambda: np.array([1.5, 0.6, 3.0]))
    dim: int = 3

    @property
    def dim_x(self) -> int:
        return len(self.times)

    def simulate(self, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``count`` draws: parameters ``(count, 3)``, observations ``(count, len(times))``."""
        theta = rng.uniform(self.low, self.high, (count, self.dim))
        return theta, self.observe(theta, rng)

    def observe(self, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Noisy log populations ``(n, len(times))`` for parameters ``theta`` ``(n, 3)``."""
        a, b = self.rates(theta)
        clean = self.log_population(a, b)
        return clean + self.noise * rng.normal(size=clean.shape)

    @staticmethod
    def rates(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``a = r - h`` and ``b = r / K``, each ``(n,)``, of parameters ``(n, 3)``."""
        r, h, log_k = theta.T
        return r - h, r / 10.0**log_k

    def log_population(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """``log N(t)`` ``(n, len(times))`` for rates ``a``, ``b`` ``(n,)``:
        ``N = n0 e^{at} / (1 + b n0 (e^{at} - 1) / a)``."""
        t = np.asarray(self.times)[None, :]
        a, b = a[:, None], b[:, None]
        small = np.abs(a) < 1e-9
        growth = np.where(small, t, np.expm1(a * t) / np.where(small, 1.0, a))
        return np.log(self.n0) + a * t - np.log1p(b * self.n0 * growth)

    def log_likelihood(self, theta: np.ndarray, x_o: np.ndarray) -> np.ndarray:
        """Unnormalised ``log p(x_o | theta)`` for ``theta`` ``(n, 3)``: ``(n,)``."""
        return self._log_likelihood_rates(*self.rates(theta), x_o)

    def _log_likelihood_rates(self, a: np.ndarray, b: np.ndarray, x_o: np.ndarray) -> np.ndarray:
        return -0.5 * (((x_o - self.log_population(a, b)) / self.noise) ** 2).sum(1)

    def r_interval(self, a: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The range ``[lo, hi]`` of ``r`` that keeps ``(r, r - a, log10 r - beta)`` in the
        prior's box (empty where ``hi <= lo``)."""
        lo = np.maximum.reduce(
            [np.full_like(a, self.low[0]), a + self.low[1], 10.0 ** (beta + self.low[2])]
        )
        hi = np.minimum.reduce(
            [np.full_like(a, self.high[0]), a + self.high[1], 10.0 ** (beta + self.high[2])]
        )
        return lo, hi

    def posterior_samples(
        self, x_o: np.ndarray, count: int, rng: np.random.Generator, grid: int = 600
    ) -> np.ndarray:
        """``count`` exact samples ``(count, 3)`` of ``p(theta | x_o)`` for one observation
        ``x_o`` ``(len(times),)``.

        Args:
            grid: grid points per axis of ``(a, beta)``, first over the whole range, then again
                over the box that holds the likelihood's mass.
        """
        box = (
            self.low[0] - self.high[1],
            self.high[0] - self.low[1],
            np.log10(self.low[0]) - self.high[2],
            np.log10(self.high[0]) - self.low[2],
        )
        for _ in range(2):  # the whole range, then twice zoomed in on the likelihood's mass
            a_edges, beta_edges, mass = self._grid_mass(x_o, box, grid)
            rows, cols = np.nonzero(mass > mass.max() * 1e-12)
            box = (
                a_edges[max(rows.min() - 2, 0)],
                a_edges[min(rows.max() + 3, grid)],
                beta_edges[max(cols.min() - 2, 0)],
                beta_edges[min(cols.max() + 3, grid)],
            )
        a_edges, beta_edges, mass = self._grid_mass(x_o, box, grid)
        cdf = np.cumsum(mass.ravel())
        cdf /= cdf[-1]
        drawn, total = [], 0
        while total < count:
            cell = np.searchsorted(cdf, rng.uniform(size=count), side="right")
            rows, cols = np.unravel_index(np.minimum(cell, mass.size - 1), mass.shape)
            a = a_edges[rows] + (a_edges[1] - a_edges[0]) * rng.uniform(size=count)
            beta = beta_edges[cols] + (beta_edges[1] - beta_edges[0]) * rng.uniform(size=count)
            lo, hi = self.r_interval(a, beta)
            # A point of a cell on the box's boundary may lie outside it: drop it (rejection).
            keep = hi > lo
            r = lo[keep] + (hi - lo)[keep] * rng.uniform(size=keep.sum())
            drawn.append(np.stack([r, r - a[keep], np.log10(r) - beta[keep]], axis=1))
            total += keep.sum()
        return np.concatenate(drawn)[:count]

    def _grid_mass(self, x_o, box, grid):
        """Cell edges of ``a`` and ``beta`` (``grid + 1`` each) and each cell's unnormalised
        posterior mass ``(grid, grid)``, evaluated at the cell centres."""
        a_edges = np.linspace(box[0], box[1], grid + 1)
        beta_edges = np.linspace(box[2], box[3], grid + 1)
        a_mid = (a_edges[:-1] + a_edges[1:]) / 2
        beta_mid = (beta_edges[:-1] + beta_edges[1:]) / 2
        a, beta = (v.ravel() for v in np.meshgrid(a_mid, beta_mid, indexing="ij"))
        log_like = self._log_likelihood_rates(a, 10.0**beta, x_o)
        lo, hi = self.r_interval(a, beta)
        mass = np.exp(log_like - log_like.max()) * np.clip(hi - lo, 0.0, None)
        return a_edges, beta_edges, mass.reshape(grid, grid)
