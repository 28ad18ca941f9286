"""The posterior-estimation tasks of ``studies/sbi_compare.py``: a simulator, its prior as a
torch distribution (for sbi) and exact posterior samples.

* ``linear_gaussian``: :class:`flowdiff.sbi.tasks.linear_gaussian.LinearGaussian`
  ``.random(dim_theta=10, dim_x=10, seed=0)``: prior N(0, I), x = A theta + b + noise; the
  posterior is Gaussian and known in closed form.
* ``squares``: :class:`flowdiff.sbi.tasks.squares.SquaresSimulator` (3 parameters in
  [-1, 1], squares observed with noise 0.05 plus their sum with noise 0.5): up to 8 narrow modes,
  sampled exactly by grid inverse-CDF and rejection.
* ``ring``: :class:`flowdiff.sbi.tasks.ring.RingSimulator` (2 parameters in [-1, 1],
  radius with noise 0.02 and product with noise 0.1): two opposite arcs of a thin ring, sampled
  exactly by rejection from the prior.
* ``growth``: :class:`flowdiff.sbi.tasks.harvested_growth.HarvestedGrowth` (logistic growth
  under harvesting, 3 parameters, log population at 4 census times with noise 0.1): a thin curved
  filament, sampled exactly on a zoomed grid of the two rates the data identify.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from flowdiff.sbi.tasks.harvested_growth import HarvestedGrowth
from flowdiff.sbi.tasks.linear_gaussian import LinearGaussian
from flowdiff.sbi.tasks.ring import RingSimulator
from flowdiff.sbi.tasks.squares import SquaresSimulator

TASKS = ("linear_gaussian", "squares", "ring", "growth")


@dataclass
class Task:
    """A simulator, its prior as a torch distribution (for sbi) and an exact posterior sampler."""

    name: str
    simulator: object
    prior: torch.distributions.Distribution
    dim_theta: int
    dim_x: int

    def exact(self, x_o: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
        """``count`` exact posterior samples ``(count, dim_theta)`` given ``x_o`` ``(dim_x,)``."""
        if isinstance(self.simulator, LinearGaussian):
            mean, cov = self.simulator.posterior(x_o)
            return rng.multivariate_normal(mean, cov, count)
        return self.simulator.posterior_samples(x_o, count, rng)


def make_task(name: str) -> Task:
    if name == "linear_gaussian":
        simulator = LinearGaussian.random(dim_theta=10, dim_x=10, seed=0)
        prior = torch.distributions.MultivariateNormal(torch.zeros(10), torch.eye(10))
        return Task(name, simulator, prior, 10, 10)
    simulators = {
        "squares": lambda: SquaresSimulator(dim=3, noise=0.05, sum_noise=0.5),
        "ring": RingSimulator,
        "growth": HarvestedGrowth,
    }
    if name not in simulators:
        raise ValueError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}")
    from sbi.utils import BoxUniform

    simulator = simulators[name]()
    low, high = _box(simulator)
    prior = BoxUniform(torch.as_tensor(low).float(), torch.as_tensor(high).float())
    return Task(name, simulator, prior, simulator.dim, simulator.dim_x)


def _box(simulator) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(simulator, SquaresSimulator):
        return -np.ones(simulator.dim), np.ones(simulator.dim)
    return simulator.low, simulator.high
