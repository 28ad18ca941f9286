"""A two-parameter simulator whose posterior lies on two opposite arcs of a thin ring.

Parameters ``theta ~ U[-1, 1]^2``. Observations ``x = (|theta| + eps_0, theta_0 theta_1 + eps_1)``
with ``eps_0 ~ N(0, radius_noise^2)`` and ``eps_1 ~ N(0, product_noise^2)``: the radius pins
``theta`` to a thin ring (cut by the box when it is wider than 1), and the product, which cannot
tell ``theta`` from ``-theta``, keeps two opposite arcs of it.

Exact samples by rejection from the prior: the unnormalised likelihood is at most 1, so a prior
draw is kept with probability ``p(x_o | theta)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class RingSimulator:
    """2 parameters in ``[-1, 1]``, 2 observations (radius, product)."""

    radius_noise: float = 0.02
    product_noise: float = 0.1
    dim: int = 2
    dim_x: int = 2

    @property
    def low(self) -> np.ndarray:
        return -np.ones(self.dim)

    @property
    def high(self) -> np.ndarray:
        return np.ones(self.dim)

    def simulate(self, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``count`` draws: parameters ``(count, 2)``, observations ``(count, 2)``."""
        theta = rng.uniform(-1.0, 1.0, (count, self.dim))
        return theta, self.observe(theta, rng)

    def observe(self, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Noisy observations ``(n, 2)`` of parameters ``theta`` ``(n, 2)``."""
        noise = rng.normal(size=theta.shape) * [self.radius_noise, self.product_noise]
        return self._summaries(theta) + noise

    def log_likelihood(self, theta: np.ndarray, x_o: np.ndarray) -> np.ndarray:
        """Unnormalised ``log p(x_o | theta)`` (at most 0) for ``theta`` ``(n, 2)``: ``(n,)``."""
        scaled = (x_o - self._summaries(theta)) / [self.radius_noise, self.product_noise]
        return -0.5 * (scaled**2).sum(1)

    def posterior_samples(
        self, x_o: np.ndarray, count: int, rng: np.random.Generator
    ) -> np.ndarray:
        """``count`` exact samples ``(count, 2)`` of ``p(theta | x_o)`` for one observation
        ``x_o`` ``(2,)``, by rejection from the prior."""
        accepted, total = [], 0
        while total < count:
            theta = rng.uniform(-1.0, 1.0, (200_000, self.dim))
            keep = theta[np.log(rng.uniform(size=len(theta))) < self.log_likelihood(theta, x_o)]
            accepted.append(keep)
            total += len(keep)
        return np.concatenate(accepted)[:count]

    @staticmethod
    def _summaries(theta: np.ndarray) -> np.ndarray:
        return np.stack([np.linalg.norm(theta, axis=1), theta[:, 0] * theta[:, 1]], axis=1)
