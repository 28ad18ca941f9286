"""sbibm benchmark tasks: our own torch simulators of four sbibm tasks, and sbibm's
observations and reference posterior samples read from its wheel.

The simulators follow the definitions in sbibm 1.1.0's ``sbibm/tasks/<task>/task.py`` (Lueckmann
et al. 2021, "Benchmarking simulation-based inference"), written here in torch:

- ``gaussian_linear``: theta ~ N(0, 0.1 I_10), x ~ N(theta, 0.1 I_10) (0.1 is a variance).
- ``gaussian_linear_uniform``: theta ~ U(-1, 1)^10, x ~ N(theta, 0.1 I_10).
- ``slcp``: theta ~ U(-3, 3)^5; four i.i.d. 2-D Gaussian draws with mean theta[0:2], standard
  deviations theta[2]^2 and theta[3]^2 and correlation tanh(theta[4]); x is the 8 numbers.
- ``sir``: theta = (beta, gamma) ~ LogNormal((log 0.4, log 0.125), (0.5, 0.2)); the SIR ODE with
  N = 10^6, I0 = 1 over 160 days; x = Binomial(1000, I(t) / N) at t = 0, 17, ..., 153 (10 values).
  sbibm solves the ODE in Julia (Tsit5); we use torchdiffeq's dopri5 at tight tolerances.

``slcp_distractors`` is not usable from the wheel: it has no task folder of its own, and its 92
distractor dimensions come from a pickled pyro mixture (``slcp/files/gmm.torch``) that needs
pyro to load, which flowdiff does not depend on.

The sbibm files are not downloaded at run time. Get the wheel once and point at it (or at its
unzipped folder) with ``--sbibm`` or the ``SBIBM_DIR`` environment variable:

    pip download --no-deps sbibm==1.1.0 -d /tmp/sbibm
    export SBIBM_DIR=/tmp/sbibm/sbibm-1.1.0-py2.py3-none-any.whl
"""

from __future__ import annotations

import bz2
import io
import math
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.distributions import Distribution, Independent, LogNormal, MultivariateNormal, Uniform

#: The environment variable naming the sbibm wheel or its unzipped folder.
SBIBM_ENV = "SBIBM_DIR"
TASKS = ("gaussian_linear", "gaussian_linear_uniform", "slcp", "sir")
NUM_OBSERVATIONS = 10


@dataclass(frozen=True)
class SbibmTask:
    """One sbibm task: its prior (a torch distribution, as sbi takes it) and simulator."""

    name: str
    dim_theta: int
    dim_x: int
    prior: Distribution
    simulate: object  # theta (n, dim_theta) -> x (n, dim_x), float32, torch's global RNG


def _gaussian_noise(theta: torch.Tensor, variance: float = 0.1) -> torch.Tensor:
    return theta + math.sqrt(variance) * torch.randn_like(theta)


def _slcp(theta: torch.Tensor, draws: int = 4) -> torch.Tensor:
    """Four draws of a 2-D Gaussian per row of theta ``(n, 5)``; returns ``(n, 8)``."""
    sd1, sd2 = theta[:, 2] ** 2, theta[:, 3] ** 2
    rho = torch.tanh(theta[:, 4])
    # sbibm adds 1e-6 to the diagonal of the covariance; its Cholesky factor, written out:
    a = torch.sqrt(sd1**2 + 1e-6)
    b = rho * sd1 * sd2 / a
    c = torch.sqrt((sd2**2 + 1e-6 - b**2).clamp_min(1e-12))
    z = torch.randn(len(theta), draws, 2, dtype=theta.dtype)
    first = theta[:, None, 0] + a[:, None] * z[..., 0]
    second = theta[:, None, 1] + b[:, None] * z[..., 0] + c[:, None] * z[..., 1]
    return torch.stack([first, second], dim=-1).reshape(len(theta), 2 * draws)


def sir_infected(theta: torch.Tensor, days: float = 160.0, every: int = 17) -> torch.Tensor:
    """The infected share I(t) / N of the SIR ODE at t = 0, every, ... < days, per row of
    theta = (beta, gamma) ``(n, 2)``; returns ``(n, 10)`` (float64)."""
    from torchdiffeq import odeint

    beta, gamma = theta[:, 0].double(), theta[:, 1].double()
    population, infected = 1e6, 1.0

    def rates(_t, u):
        s, i = u[:, 0], u[:, 1]
        new = beta * s * i
        return torch.stack([-new, new - gamma * i, gamma * i], dim=1)

    start = torch.tensor([1 - infected / population, infected / population, 0.0])
    u0 = start.double().expand(len(theta), 3).clone()
    times = torch.arange(0.0, days, every, dtype=torch.float64)
    u = odeint(rates, u0, times, rtol=1e-8, atol=1e-12, method="dopri5")
    return u[:, :, 1].T.clamp(0.0, 1.0)


def _sir(theta: torch.Tensor, chunk: int = 20_000) -> torch.Tensor:
    shares = torch.cat([sir_infected(part) for part in theta.split(chunk)])
    return torch.distributions.Binomial(1000, probs=shares).sample()


def make_task(name: str) -> SbibmTask:
    """The task called ``name`` (one of :data:`TASKS`)."""
    if name == "gaussian_linear":
        prior = MultivariateNormal(torch.zeros(10), 0.1 * torch.eye(10))
        return SbibmTask(name, 10, 10, prior, _gaussian_noise)
    if name == "gaussian_linear_uniform":
        prior = Independent(Uniform(-torch.ones(10), torch.ones(10)), 1)
        return SbibmTask(name, 10, 10, prior, _gaussian_noise)
    if name == "slcp":
        prior = Independent(Uniform(-3 * torch.ones(5), 3 * torch.ones(5)), 1)
        return SbibmTask(name, 5, 8, prior, _slcp)
    if name == "sir":
        loc, scale = torch.tensor([math.log(0.4), math.log(0.125)]), torch.tensor([0.5, 0.2])
        return SbibmTask(name, 2, 10, Independent(LogNormal(loc, scale), 1), _sir)
    raise ValueError(f"task={name!r} is not one of {TASKS}: pick one of those.")


def simulate(task: SbibmTask, count: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` pairs ``theta (count, dim_theta)``, ``x (count, dim_x)`` from prior and
    simulator, float32, reproducible from ``seed``."""
    torch.manual_seed(seed)
    theta = task.prior.sample((count,)).float()
    return theta, task.simulate(theta).float()


# --------------------------------------------------------------------------- sbibm's files
def sbibm_source(path: str | Path | None = None) -> Path:
    """The sbibm wheel or unzipped folder: ``path``, else ``$SBIBM_DIR``; an error saying how to
    get it when neither is there."""
    path = path or os.environ.get(SBIBM_ENV)
    if not path or not Path(path).exists():
        raise FileNotFoundError(
            f"sbibm's reference files not found (--sbibm / ${SBIBM_ENV} = {path!r}): run "
            f"`pip download --no-deps sbibm==1.1.0 -d DIR` and set {SBIBM_ENV} to the wheel "
            "in DIR (or to its unzipped folder)."
        )
    return Path(path)


def _read(source: Path, relative: str) -> bytes:
    """The bytes of ``sbibm/tasks/<relative>`` in the wheel or folder ``source`` (a folder may
    be the unzipped wheel, its ``sbibm`` folder or its ``tasks`` folder)."""
    if source.is_file():
        with zipfile.ZipFile(source) as wheel:
            return wheel.read(f"sbibm/tasks/{relative}")
    for root in (source / "sbibm" / "tasks", source / "tasks", source):
        if (root / relative).is_file():
            return (root / relative).read_bytes()
    raise FileNotFoundError(f"{relative} not found under {source}")


def read_csv(source: Path, task: str, observation: int, name: str) -> np.ndarray:
    """One of a task's files as ``(rows, columns)`` float32: ``observation``,
    ``true_parameters`` or ``reference_posterior_samples`` of observation 1..10."""
    relative = f"{task}/files/num_observation_{observation}/{name}.csv"
    compressed = name == "reference_posterior_samples"
    data = _read(source, relative + ".bz2" if compressed else relative)
    text = bz2.decompress(data) if compressed else data
    return np.loadtxt(io.BytesIO(text), delimiter=",", skiprows=1, ndmin=2, dtype=np.float32)


@dataclass(frozen=True)
class Reference:
    """A task's observations ``(k, dim_x)``, true parameters ``(k, dim_theta)`` and reference
    posterior samples (``k`` arrays ``(10_000, dim_theta)``)."""

    observations: np.ndarray
    true_parameters: np.ndarray
    posterior_samples: list[np.ndarray]


def load_reference(task: str, source: str | Path | None = None, count: int = 10) -> Reference:
    """sbibm's first ``count`` observations of ``task`` with their reference posteriors."""
    source = sbibm_source(source)
    numbers = range(1, count + 1)
    return Reference(
        np.concatenate([read_csv(source, task, k, "observation") for k in numbers]),
        np.concatenate([read_csv(source, task, k, "true_parameters") for k in numbers]),
        [read_csv(source, task, k, "reference_posterior_samples") for k in numbers],
    )
