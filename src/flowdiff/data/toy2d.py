"""Generated 2-D toy data: moons, 8 gaussians, checkerboard, circles, spirals."""

from __future__ import annotations

import numbers

from torch import Tensor

from flowdiff.data.in_memory import InMemoryDataModule
from flowdiff.data.toy2d_distributions import DISTRIBUTIONS, sample_toy2d
from flowdiff.errors import ConfigError


class Toy2DDataModule(InMemoryDataModule):
    """Unconditional 2-D samples ``x`` ``(N, 2)`` drawn once from a named generator.

    Args:
        name: ``moons``, ``8gaussians``, ``checkerboard``, ``circles`` or ``spirals``.
        num_samples: samples drawn in all (split into train and val).
        **kwargs: see :class:`~flowdiff.data.in_memory.InMemoryDataModule`.
    """

    def __init__(self, name: str = "moons", num_samples: int = 20_000, **kwargs):
        kwargs.setdefault("shape", (2,))
        super().__init__(**kwargs)
        if name not in DISTRIBUTIONS:
            raise ValueError(f"name={name!r}; choose one of {sorted(DISTRIBUTIONS)}.")
        if isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral):
            raise ConfigError(f"num_samples={num_samples!r} must be a whole number, e.g. 20000.")
        if num_samples < 1:
            raise ConfigError(f"num_samples={num_samples} must be >= 1 (samples to draw).")
        self.name = name
        self.num_samples = num_samples

    def load(self) -> tuple[Tensor, None]:
        return sample_toy2d(self.name, self.num_samples, seed=self.seed), None
