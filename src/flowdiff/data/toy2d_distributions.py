"""Generators of classic 2-D toy distributions, each ``(n, generator) -> Tensor (n, 2)``.

Used for training data and as the "fresh samples" that quality metrics compare against.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

Generator = torch.Generator


def moons(n: int, generator: Generator, noise: float = 0.05) -> Tensor:
    """Two interleaved half circles (scikit-learn's ``make_moons`` layout)."""
    upper = n // 2
    angle = torch.rand(n, generator=generator) * math.pi
    x = torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    x[upper:] = torch.stack([1 - torch.cos(angle[upper:]), 0.5 - torch.sin(angle[upper:])], 1)
    return x + noise * torch.randn(n, 2, generator=generator)


def eight_gaussians(n: int, generator: Generator, radius: float = 2.0, std: float = 0.1) -> Tensor:
    """An equal mixture of 8 isotropic Gaussians on a circle: density known in closed form."""
    centers = eight_gaussian_centers(radius)
    which = torch.randint(0, 8, (n,), generator=generator)
    return centers[which] + std * torch.randn(n, 2, generator=generator)


def eight_gaussian_centers(radius: float = 2.0) -> Tensor:
    """The 8 mixture centres ``(8, 2)`` of :func:`eight_gaussians`."""
    angle = torch.arange(8) * (2 * math.pi / 8)
    return radius * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)


def checkerboard(n: int, generator: Generator) -> Tensor:
    """Uniform on the dark squares of a 4 x 4 board over [-2, 2]^2."""
    x1 = torch.rand(n, generator=generator) * 4 - 2
    row = torch.randint(0, 2, (n,), generator=generator) * 2
    x2 = torch.rand(n, generator=generator) - row + torch.floor(x1) % 2
    return torch.stack([x1, x2], dim=1)


def circles(n: int, generator: Generator, noise: float = 0.04, factor: float = 0.5) -> Tensor:
    """Two concentric circles of radii 1 and ``factor``."""
    angle = torch.rand(n, generator=generator) * 2 * math.pi
    radius = torch.where(torch.rand(n, generator=generator) < 0.5, 1.0, factor)
    x = radius[:, None] * torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    return x + noise * torch.randn(n, 2, generator=generator)


def spirals(n: int, generator: Generator, noise: float = 0.05, turns: float = 1.5) -> Tensor:
    """Two interleaved Archimedean spirals."""
    s = torch.sqrt(torch.rand(n, generator=generator))
    angle = s * turns * 2 * math.pi
    arm = torch.where(torch.rand(n, generator=generator) < 0.5, 0.0, math.pi)
    x = s[:, None] * torch.stack([torch.cos(angle + arm), torch.sin(angle + arm)], dim=1) * 2
    return x + noise * torch.randn(n, 2, generator=generator)


DISTRIBUTIONS: dict[str, Callable[[int, Generator], Tensor]] = {
    "moons": moons,
    "8gaussians": eight_gaussians,
    "checkerboard": checkerboard,
    "circles": circles,
    "spirals": spirals,
}


def sample_toy2d(name: str, n: int, seed: int = 0) -> Tensor:
    """``n`` samples ``(n, 2)`` of the named distribution, reproducible from ``seed``."""
    if name not in DISTRIBUTIONS:
        raise ValueError(f"name={name!r}; choose one of {sorted(DISTRIBUTIONS)}.")
    return DISTRIBUTIONS[name](n, torch.Generator().manual_seed(seed))
