"""Our simulators of sbibm's tasks against sbibm's own files (a slice in data/sbibm_tasks)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from studies.sbibm_tasks import TASKS, load_reference, make_task, simulate

FILES = Path(__file__).parent / "data" / "sbibm_tasks"


@pytest.fixture(scope="module")
def references():
    return {name: load_reference(name, FILES, count=2) for name in TASKS}


def tail(samples: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Per dimension, the smaller of P(sample <= value) and P(sample >= value)."""
    return np.minimum((samples <= value).mean(0), (samples >= value).mean(0))


@pytest.mark.parametrize("name", TASKS)
def test_observation_is_typical_of_the_true_parameters(name, references):
    """x simulated at sbibm's true parameters looks like sbibm's observation, in every
    dimension (a wrong noise scale, mean or ODE puts the observation in a far tail)."""
    task, ref = make_task(name), references[name]
    torch.manual_seed(0)
    for theta, x_o in zip(ref.true_parameters, ref.observations, strict=True):
        x = task.simulate(torch.as_tensor(theta).expand(4000, -1).clone()).numpy()
        assert x.shape == (4000, task.dim_x)
        assert tail(x, x_o).min() > 1e-3, name


@pytest.mark.parametrize("name", TASKS)
def test_prior_predictive_covers_the_observation(name, references):
    """Prior draws through the simulator reach sbibm's observations in every dimension, and
    the reference posterior sits inside the prior's support with the true parameters inside
    the reference posterior's range."""
    task, ref = make_task(name), references[name]
    theta, x = simulate(task, 5000, seed=1)
    assert theta.shape == (5000, task.dim_theta) and torch.isfinite(x).all()
    for k, x_o in enumerate(ref.observations):
        assert tail(x.numpy(), x_o).min() > 0 or name == "sir", (name, k)
        samples = torch.as_tensor(ref.posterior_samples[k])
        assert torch.isfinite(task.prior.log_prob(samples)).all(), name
        low, high = ref.posterior_samples[k].min(0), ref.posterior_samples[k].max(0)
        margin = 0.1 * (high - low)
        true = ref.true_parameters[k]
        assert np.all((true >= low - margin) & (true <= high + margin)), (name, k)


def test_sir_reaches_every_observed_count(references):
    """sir's counts are integers in [0, 1000] and the prior predictive reaches each observed
    count's neighbourhood (the epidemic peaks where sbibm's does)."""
    _, x = simulate(make_task("sir"), 5000, seed=1)
    assert torch.equal(x, x.round()) and x.min() >= 0 and x.max() <= 1000
    for x_o in references["sir"].observations:
        assert ((x - torch.as_tensor(x_o)).abs() <= 0.1 * torch.as_tensor(x_o) + 5).all(1).any()


def test_gaussian_linear_reference_is_our_analytic_posterior(references):
    """Prior N(0, 0.1 I) and noise N(0, 0.1 I): the posterior is N(x_o / 2, 0.05 I); sbibm's
    reference draws agree (a variance read as a standard deviation would not)."""
    ref = references["gaussian_linear"]
    for x_o, samples in zip(ref.observations, ref.posterior_samples, strict=True):
        error = (samples.mean(0) - x_o / 2) / np.sqrt(0.05 / len(samples))
        assert np.abs(error).max() < 4.5
        assert np.allclose(samples.var(0, ddof=1), 0.05, rtol=0.3)


def test_reads_the_wheel_as_the_folder(tmp_path, references):
    """A wheel (zip) and its unzipped folder give the same arrays."""
    wheel = tmp_path / "sbibm-1.1.0-py2.py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path in (FILES / "slcp").rglob("*"):
            if path.is_file():
                archive.write(path, f"sbibm/tasks/{path.relative_to(FILES)}")
    from_wheel = load_reference("slcp", wheel, count=2)
    assert np.array_equal(from_wheel.observations, references["slcp"].observations)
    assert np.array_equal(from_wheel.posterior_samples[1], references["slcp"].posterior_samples[1])
    assert from_wheel.posterior_samples[0].shape == (300, 5)


def test_missing_files_say_how_to_get_them(monkeypatch, tmp_path):
    monkeypatch.delenv("SBIBM_DIR", raising=False)
    with pytest.raises(FileNotFoundError, match="pip download --no-deps sbibm"):
        load_reference("slcp")
    with pytest.raises(FileNotFoundError, match="pip download"):
        load_reference("slcp", tmp_path / "nowhere")
