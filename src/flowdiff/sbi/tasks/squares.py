"""A nonlinear simulator with a sharp, multi-modal posterior that can be sampled exactly.

Parameters ``theta ~ U[-1, 1]^d``. Observations: the squares ``x_i = theta_i^2 + eps_i``
(``i < d``, ``eps_i ~ N(0, noise^2)``), which cannot tell ``theta_i`` from ``-theta_i``, and one
sum ``x_d = sum_i theta_i + eps_d`` (``eps_d ~ N(0, sum_noise^2)``), which weighs the ``2^d``
sign combinations unequally. Given ``x_o`` the posterior has up to ``2^d`` narrow modes near
``(+-sqrt(x_0), ..., +-sqrt(x_{d-1}))``.

Exact samples: the squares alone give a posterior that factorises over parameters; each factor
is sampled by inverse CDF on a fine grid (piecewise-constant density, so exact up to the grid's
resolution, ``2 / grid`` in ``theta``); the sum's likelihood, at most 1, is then imposed by
rejection.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SquaresSimulator:
    """``dim`` parameters in ``[-1, 1]``, ``dim + 1`` observations (squares, then the sum)."""

    dim: int = 3
    noise: float = 0.05
    sum_noise: float = 0.5

    @property
    def dim_x(self) -> int:
        return self.dim + 1

    def simulate(self, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``count`` draws: parameters ``(count, dim)``, observations ``(count, dim + 1)``."""
        theta = rng.uniform(-1.0, 1.0, (count, self.dim))
        return theta, self.observe(theta, rng)

    def observe(self, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Noisy observations ``(n, dim + 1)`` of parameters ``theta`` ``(n, dim)``."""
        squares = theta**2 + self.noise * rng.normal(size=theta.shape)
        total = theta.sum(1, keepdims=True) + self.sum_noise * rng.normal(size=(len(theta), 1))
        return np.concatenate([squares, total], axis=1)

    def log_likelihood(self, theta: np.ndarray, x_o: np.ndarray) -> np.ndarray:
        """Unnormalised ``log p(x_o | theta)`` for ``theta`` ``(n, dim)``: ``(n,)``."""
        squares = ((x_o[: self.dim] - theta**2) / self.noise) ** 2
        total = ((x_o[self.dim] - theta.sum(1)) / self.sum_noise) ** 2
        return -0.5 * (squares.sum(1) + total)

    def posterior_samples(
        self, x_o: np.ndarray, count: int, rng: np.random.Generator, grid: int = 20_001
    ) -> np.ndarray:
        """``count`` exact samples ``(count, dim)`` of ``p(theta | x_o)``.

        Args:
            x_o: one observation ``(dim + 1,)``.
            count: number of samples.
            rng: the random generator.
            grid: grid points per parameter for the inverse CDF of the squares' factors.
        """
        edges = np.linspace(-1.0, 1.0, grid)
        centres = (edges[:-1] + edges[1:]) / 2
        cdfs = []
        for i in range(self.dim):
            log_p = -0.5 * ((x_o[i] - centres**2) / self.noise) ** 2
            cdf = np.cumsum(np.exp(log_p - log_p.max()))
            cdfs.append(cdf / cdf[-1])
        width = edges[1] - edges[0]
        accepted, total = [], 0
        while total < count:
            batch = max(4 * (count - total), 1000)
            theta = np.empty((batch, self.dim))
            for i, cdf in enumerate(cdfs):
                cell = np.searchsorted(cdf, rng.uniform(size=batch), side="right")
                cell = np.minimum(cell, len(centres) - 1)
                theta[:, i] = edges[cell] + width * rng.uniform(size=batch)
            keep = theta[
                rng.uniform(size=batch)
                < np.exp(-0.5 * ((x_o[self.dim] - theta.sum(1)) / self.sum_noise) ** 2)
            ]
            accepted.append(keep)
            total += len(keep)
        return np.concatenate(accepted)[:count]
