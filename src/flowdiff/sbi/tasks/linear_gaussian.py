"""A linear-Gaussian simulator whose posterior is known exactly, for posterior estimation.

Prior ``theta ~ N(mu_0, Sigma_0)``, simulator ``x = A theta + b + eps`` with ``eps ~ N(0, Sigma)``.
The posterior given an observation ``x_o`` is Gaussian with
``Sigma_post = (Sigma_0^-1 + A^T Sigma^-1 A)^-1`` and
``mu_post = Sigma_post (Sigma_0^-1 mu_0 + A^T Sigma^-1 (x_o - b))``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class LinearGaussian:
    """The simulator's matrices (float64): ``A`` ``(dim_x, dim_theta)``, ``b`` ``(dim_x,)``,
    noise covariance ``noise`` ``(dim_x, dim_x)``, prior mean/covariance."""

    A: np.ndarray
    b: np.ndarray
    noise: np.ndarray
    prior_mean: np.ndarray
    prior_cov: np.ndarray

    @classmethod
    def random(cls, dim_theta: int = 3, dim_x: int = 5, seed: int = 0) -> LinearGaussian:
        rng = np.random.default_rng(seed)
        A = rng.normal(size=(dim_x, dim_theta))
        noise = np.diag(rng.uniform(0.2, 0.6, dim_x) ** 2)
        return cls(A, rng.normal(size=dim_x), noise, np.zeros(dim_theta), np.eye(dim_theta))

    def simulate(self, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``count`` draws: parameters ``(count, dim_theta)``, observations ``(count, dim_x)``."""
        theta = rng.multivariate_normal(self.prior_mean, self.prior_cov, count)
        eps = rng.multivariate_normal(np.zeros(len(self.b)), self.noise, count)
        return theta, theta @ self.A.T + self.b + eps

    def posterior(self, x_o: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact posterior mean ``(dim_theta,)`` and covariance ``(dim_theta, dim_theta)``."""
        noise_inv = np.linalg.inv(self.noise)
        precision = np.linalg.inv(self.prior_cov) + self.A.T @ noise_inv @ self.A
        cov = np.linalg.inv(precision)
        mean = cov @ (
            np.linalg.solve(self.prior_cov, self.prior_mean) + self.A.T @ noise_inv @ (x_o - self.b)
        )
        return mean, cov


def write_pairs(file: str | Path, simulator: LinearGaussian, count: int, seed: int = 0) -> Path:
    """Simulate ``count`` pairs and save them as ``x`` (parameters) and ``cond`` (observations)
    in an ``.npz`` that ``data=arrays`` reads."""
    theta, x = simulator.simulate(count, np.random.default_rng(seed))
    file = Path(file)
    file.parent.mkdir(parents=True, exist_ok=True)
    np.savez(file, x=theta.astype(np.float32), cond=x.astype(np.float32))
    return file
