"""The simulators of ``studies.sbi_compare`` against brute force, and a --tiny run of it."""

from __future__ import annotations

import re
import subprocess
import sys
from itertools import product
from pathlib import Path

import numpy as np
import pytest

from flowdiff.sbi.tasks.linear_gaussian import LinearGaussian
from flowdiff.sbi.tasks.squares import SquaresSimulator

REPO = Path(__file__).resolve().parents[2]


def test_linear_gaussian_posterior_is_the_joint_gaussians_conditional():
    """The precision form of the posterior equals conditioning the joint Gaussian of
    (theta, x) on x (a Schur complement), for a non-identity prior."""
    rng = np.random.default_rng(0)
    dim_theta, dim_x = 4, 6
    root = rng.normal(size=(dim_theta, dim_theta))
    prior_cov = root @ root.T + 0.5 * np.eye(dim_theta)
    sim = LinearGaussian(
        rng.normal(size=(dim_x, dim_theta)),
        rng.normal(size=dim_x),
        np.diag(rng.uniform(0.1, 0.5, dim_x)),
        rng.normal(size=dim_theta),
        prior_cov,
    )
    x_o = rng.normal(size=dim_x)
    mean, cov = sim.posterior(x_o)
    cross = prior_cov @ sim.A.T
    marginal = sim.A @ prior_cov @ sim.A.T + sim.noise
    expected_mean = sim.prior_mean + cross @ np.linalg.solve(
        marginal, x_o - sim.A @ sim.prior_mean - sim.b
    )
    expected_cov = prior_cov - cross @ np.linalg.solve(marginal, cross.T)
    np.testing.assert_allclose(mean, expected_mean, atol=1e-10)
    np.testing.assert_allclose(cov, expected_cov, atol=1e-10)


def _grid_posterior(sim: SquaresSimulator, x_o: np.ndarray, points: int = 161):
    """Posterior mass on a regular grid over [-1, 1]^dim: (grid coordinates, probabilities)."""
    axis = np.linspace(-1, 1, points)
    theta = np.stack(np.meshgrid(*[axis] * sim.dim, indexing="ij"), -1).reshape(-1, sim.dim)
    log_p = sim.log_likelihood(theta, x_o)
    p = np.exp(log_p - log_p.max())
    return theta, p / p.sum()


def test_squares_exact_samples_match_a_brute_force_grid():
    sim = SquaresSimulator(dim=3, noise=0.05, sum_noise=0.5)
    x_o = np.array([0.5, 0.2, 0.7, 0.4])
    samples = sim.posterior_samples(x_o, 40_000, np.random.default_rng(0))
    assert samples.shape == (40_000, 3)
    assert np.all(np.abs(samples) <= 1)
    theta, p = _grid_posterior(sim, x_o)
    # The mass of each of the 8 sign patterns (modes), and |theta|'s mean, agree with the grid.
    for signs in product([-1, 1], repeat=3):
        grid_mass = p[np.all(np.sign(theta) == signs, axis=1)].sum()
        sample_mass = np.mean(np.all(np.sign(samples) == signs, axis=1))
        assert abs(sample_mass - grid_mass) < 4 * np.sqrt(grid_mass / 40_000) + 2e-3, signs
    np.testing.assert_allclose(np.abs(samples).mean(0), p @ np.abs(theta), atol=5e-3)
    # Modes sit near +-sqrt(x_i).
    np.testing.assert_allclose(np.abs(samples).mean(0), np.sqrt(x_o[:3]), atol=0.03)


def test_squares_sum_breaks_the_sign_symmetry():
    sim = SquaresSimulator(dim=3)
    x_o = np.array([0.6, 0.6, 0.6, 2.0])  # the sum favours all-positive parameters
    samples = sim.posterior_samples(x_o, 5000, np.random.default_rng(1))
    positive = np.mean(np.all(samples > 0, axis=1))
    negative = np.mean(np.all(samples < 0, axis=1))
    assert positive > 0.5 and negative < 0.01


def test_squares_simulate_shapes():
    theta, x = SquaresSimulator(dim=4).simulate(100, np.random.default_rng(0))
    assert theta.shape == (100, 4) and x.shape == (100, 5)
    assert np.all(np.abs(theta) <= 1)


@pytest.mark.slow
def test_sbi_compare_tiny(tmp_path: Path):
    output = tmp_path / "benchmarks.md"
    output.write_text("# Benchmarks\n\nIntro kept.\n")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "studies.sbi_compare",
            "--tiny",
            "--output",
            str(output),
            "--work",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1500,  # ~80 s alone; far longer on a loaded shared machine
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    text = output.read_text()
    assert "Intro kept." in text
    section = text[
        text.index("<!-- sbi_compare:start -->") : text.index("<!-- sbi_compare:end -->")
    ]
    assert "--tiny" in section
    assert (
        "| task | simulations | method | C2ST mean | C2ST max | train s | sample s | total s | "
        "CPU s | epochs (stop) |"
    ) in section
    assert "Targets: C2ST below both NPE and FMPE in **" in section
    for task in ("linear_gaussian", "squares", "ring", "growth"):
        for method in ("flowdiff", "NPE", "FMPE"):
            rows = [
                r for r in section.splitlines() if re.match(rf"\| {task} \| \S+ \| {method} \|", r)
            ]
            assert len(rows) == 1, (task, method)
            cells = [cell.strip() for cell in rows[0].strip("|").split("|")]
            mean, top, t_train, t_sample, total, cpu = (float(c) for c in cells[3:9])
            assert 0 <= mean <= top <= 1 and cpu >= 0  # printed to 0.1 s: may round to 0
            assert total == pytest.approx(t_train + t_sample, abs=0.11)
            if method == "flowdiff":
                assert cells[9] == "1 (max_epochs=1 reached)"
            # seconds, printed to 0.1 / 0.01 s: a tiny run's can round to 0
            assert t_train >= 0 and t_sample >= 0
