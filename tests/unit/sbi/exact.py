"""An exact linear-Gaussian posterior with the Posterior's ``sample`` signature, optionally made
over-confident by shrinking its covariance."""

from __future__ import annotations

import numpy as np
import torch

from flowdiff.sbi.tasks.linear_gaussian import LinearGaussian


class ExactPosterior:
    def __init__(self, simulator: LinearGaussian, shrink: float = 1.0):
        self.simulator, self.shrink = simulator, shrink

    def sample(self, sample_shape, x, generator=None):
        seed = 0 if generator is None else int(generator.initial_seed())
        rng = np.random.default_rng(seed)
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        draws = []
        for x_o in x:
            mean, cov = self.simulator.posterior(x_o)
            draws.append(rng.multivariate_normal(mean, cov * self.shrink**2, sample_shape[0]))
        return torch.as_tensor(np.stack(draws, axis=1))
