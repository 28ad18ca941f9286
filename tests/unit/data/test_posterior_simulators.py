"""The reference posterior samplers of the ring and harvested-growth simulators against
independent brute-force estimates (a quadrature grid; importance sampling from the prior)."""

from __future__ import annotations

import numpy as np

from flowdiff.sbi.tasks.harvested_growth import HarvestedGrowth
from flowdiff.sbi.tasks.ring import RingSimulator


def test_ring_samples_match_a_quadrature_grid():
    sim = RingSimulator()
    x_o = np.array([0.7, 0.15])
    samples = sim.posterior_samples(x_o, 20_000, np.random.default_rng(0))
    assert samples.shape == (20_000, 2) and np.all(np.abs(samples) <= 1)
    axis = np.linspace(-1, 1, 1601)
    theta = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    p = np.exp(sim.log_likelihood(theta, x_o))
    p /= p.sum()
    # Thin ring: radius within a few noise widths; two opposite arcs where theta_0 theta_1 > 0.
    radius = np.linalg.norm(samples, axis=1)
    np.testing.assert_allclose(radius.mean(), p @ np.linalg.norm(theta, axis=1), atol=2e-3)
    assert radius.std() < 0.03
    same_sign = np.mean(samples[:, 0] * samples[:, 1] > 0)
    assert abs(same_sign - p[theta[:, 0] * theta[:, 1] > 0].sum()) < 0.02
    np.testing.assert_allclose(np.abs(samples).mean(0), p @ np.abs(theta), atol=0.01)
    assert abs(np.mean(samples[:, 0] > 0) - 0.5) < 0.02  # theta and -theta are equally likely


def test_ring_simulate_shapes():
    theta, x = RingSimulator().simulate(50, np.random.default_rng(0))
    assert theta.shape == (50, 2) and x.shape == (50, 2)


def test_growth_closed_form_solves_the_ode():
    """Euler steps of dN/dt = r N (1 - N / K) - h N reach the closed form's log N(t)."""
    sim = HarvestedGrowth()
    theta = np.array([[0.8, 0.2, 2.0], [0.3, 0.5, 1.5], [0.5, 0.5, 2.5]])  # grows, dies, a = 0
    r, h, k = theta[:, 0], theta[:, 1], 10 ** theta[:, 2]

    def slope(n):
        return r * n * (1 - n / k) - h * n

    n, dt, out = np.full(3, sim.n0), 0.01, []
    for step in range(1, round(max(sim.times) / dt) + 1):  # classic RK4
        k1 = slope(n)
        k2 = slope(n + dt / 2 * k1)
        k3 = slope(n + dt / 2 * k2)
        n = n + dt / 6 * (k1 + 2 * k2 + 2 * k3 + slope(n + dt * k3))
        if np.isclose(step * dt, sim.times).any():
            out.append(np.log(n))
    np.testing.assert_allclose(np.stack(out, 1), sim.log_population(*sim.rates(theta)), atol=1e-6)


def test_growth_samples_match_importance_sampling_from_the_prior():
    sim = HarvestedGrowth(noise=0.3)  # broad enough for prior draws to cover the posterior
    rng = np.random.default_rng(0)
    _, x = sim.simulate(3, rng)
    prior = rng.uniform(sim.low, sim.high, (400_000, 3))
    for x_o in x:
        samples = sim.posterior_samples(x_o, 20_000, rng)
        assert samples.shape == (20_000, 3)
        assert np.all((samples >= sim.low - 1e-9) & (samples <= sim.high + 1e-9))
        log_w = sim.log_likelihood(prior, x_o)
        w = np.exp(log_w - log_w.max())
        w /= w.sum()
        assert 1 / (w**2).sum() > 2000  # effective sample size: the check itself is sound
        mean = w @ prior
        std = np.sqrt(w @ (prior - mean) ** 2)
        np.testing.assert_allclose(samples.mean(0), mean, atol=0.05 * std.max() + 0.01)
        np.testing.assert_allclose(samples.std(0), std, rtol=0.1)


def test_growth_posterior_is_a_thin_filament():
    """The data fix a = r - h and b = r / K: across samples these barely move while r does."""
    sim = HarvestedGrowth()
    theta_o = np.array([[1.0, 0.3, 2.0]])
    x_o = sim.observe(theta_o, np.random.default_rng(1))[0]
    samples = sim.posterior_samples(x_o, 5000, np.random.default_rng(2))
    a, b = sim.rates(samples)
    assert a.std() < 0.1 and np.log10(b).std() < 0.1
    assert samples[:, 0].std() > 3 * a.std()
