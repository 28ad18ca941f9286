"""Maths of the samplers, in float64, on problems whose answers are known in closed form.

ODE samplers integrate the marginal velocity of an affine path from ``N(0, I)`` to
``N(mu, diag(s^2))``: with ``x_t = alpha_t x_1 + sigma_t x_0``, ``x_t ~ N(alpha_t mu, v_t)``,
``v_t = alpha_t^2 s^2 + sigma_t^2``, and Gaussian conditioning gives

    u_t(x) = E[d_alpha_t x_1 + d_sigma_t x_0 | x_t = x]
           = d_alpha_t mu + (alpha_t d_alpha_t s^2 + sigma_t d_sigma_t) / v_t * (x - alpha_t mu),

whose flow is ``x(t) = alpha_t mu + sqrt(v_t) x_0``: the exact endpoint is ``mu + s x_0``.

Diffusion samplers get the exact noise predictor for data ``x_1 ~ N(mu, Sigma)``:
``E[eps | x_t] = b_t C_t^{-1} (x_t - a_t mu)`` with ``a_t = sqrt(abar_t)``,
``b_t = sqrt(1 - abar_t)`` and ``C_t = a_t^2 Sigma + b_t^2 I``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from flowdiff.errors import ConfigError
from flowdiff.paths import DiffusionPath, FlowMatchingPath
from flowdiff.samplers import DiffusersSampler, ODESampler, TorchdynSampler, check_compatible
from flowdiff.samplers.diffusers import SCHEDULERS, compatible_schedulers
from flowdiff.samplers.schedule_checks import leading_grid_falls_short, starts_short

DT = torch.float64

# --------------------------------------------------------------------------------------------
# ODE samplers on an analytic Gaussian-to-Gaussian flow
# --------------------------------------------------------------------------------------------

MU = torch.tensor([1.0, -2.0, 0.5], dtype=DT)
S = torch.tensor([0.5, 2.0, 1.5], dtype=DT)
HALF_PI = math.pi / 2


@dataclass(frozen=True)
class GaussianFlow:
    """Marginal flow of the ``condot`` or ``cosine`` path from N(0, I) to N(MU, diag(S^2))."""

    schedule: str

    def coefficients(self, t: torch.Tensor):
        if self.schedule == "condot":
            return t, torch.ones_like(t), 1 - t, -torch.ones_like(t)
        return (
            torch.sin(HALF_PI * t),
            HALF_PI * torch.cos(HALF_PI * t),
            torch.cos(HALF_PI * t),
            -HALF_PI * torch.sin(HALF_PI * t),
        )

    def velocity(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """``model(x, t)`` with ``x`` of shape ``(B, 3)`` and ``t`` of shape ``(B,)``."""
        assert t.shape == (x.shape[0],), t.shape
        alpha, d_alpha, sigma, d_sigma = self.coefficients(t[:, None])
        v = alpha**2 * S**2 + sigma**2
        return d_alpha * MU + (alpha * d_alpha * S**2 + sigma * d_sigma) / v * (x - alpha * MU)

    def flow(self, x_0: torch.Tensor, t: float) -> torch.Tensor:
        alpha, _, sigma, _ = self.coefficients(torch.tensor(t, dtype=DT))
        return alpha * MU + torch.sqrt(alpha**2 * S**2 + sigma**2) * x_0


FLOWS = {name: GaussianFlow(name) for name in ("condot", "cosine")}
FM_PATH = FlowMatchingPath()


def _x0(batch: int = 64, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, 3, generator=torch.Generator().manual_seed(seed), dtype=DT)


def _ode(method: str, **kwargs) -> ODESampler:
    return ODESampler(method=method, **kwargs)


def _torchdyn(method: str, **kwargs) -> TorchdynSampler:
    return TorchdynSampler(solver=method, **kwargs)


SAMPLERS = {"ode": _ode, "torchdyn": _torchdyn}


@pytest.mark.parametrize("schedule", sorted(FLOWS))
def test_gaussian_flow_reference_is_consistent(schedule):
    """The closed-form flow starts at x_0, ends at MU + S x_0, and is moved by the velocity."""
    flow, x_0 = FLOWS[schedule], _x0()
    torch.testing.assert_close(flow.flow(x_0, 0.0), x_0, rtol=1e-15, atol=1e-15)
    torch.testing.assert_close(flow.flow(x_0, 1.0), MU + S * x_0, rtol=1e-15, atol=1e-15)
    h = 1e-6
    for t in np.linspace(0.05, 0.95, 7):
        dflow = (flow.flow(x_0, t + h) - flow.flow(x_0, t - h)) / (2 * h)
        u = flow.velocity(flow.flow(x_0, t), torch.full((64,), t, dtype=DT))
        torch.testing.assert_close(u, dflow, rtol=1e-7, atol=1e-7)


def _endpoint_error(sampler, schedule: str, x_0: torch.Tensor) -> float:
    out = sampler.sample(FLOWS[schedule].velocity, FM_PATH, x_0)
    assert out.x.dtype == DT
    return (out.x - (MU + S * x_0)).abs().max().item()


def _slope(steps, errors) -> float:
    """Least-squares slope of log(error) against log(step size 1 / steps)."""
    return float(np.polyfit(np.log(1.0 / np.asarray(steps)), np.log(errors), 1)[0])


#: (schedule, method) -> (observed order, step counts). On the condot flow explicit midpoint is
#: superconvergent: the h^2 term of its global error, int_0^1 Phi(1, t) psi(t) dt with psi the
#: principal local error, vanishes identically (checked symbolically for several mu, s), so it
#: shows h^3; the cosine flow has no such cancellation and shows the textbook order 2. On condot
#: rk4 (torchdiffeq's is the 3/8 rule) approaches h^4 from above (local slopes 4.5, 4.4, 4.2, 4.1
#: between 8 and 128 steps on a float64 grid), hence the finer steps there. The errors stay above
#: 4e-10, far from float64 round-off and from the ~3e-11 floor of ODESampler's float32 grid.
ORDERS = {
    ("cosine", "euler"): (1, (8, 16, 32, 64)),
    ("cosine", "midpoint"): (2, (8, 16, 32, 64)),
    ("cosine", "rk4"): (4, (8, 16, 32, 64)),
    ("condot", "euler"): (1, (8, 16, 32, 64)),
    ("condot", "midpoint"): (3, (8, 16, 32, 64)),
    ("condot", "rk4"): (4, (16, 32, 64, 128)),
}


def _order_cases():
    for sampler in sorted(SAMPLERS):
        for schedule, method in ORDERS:
            yield pytest.param(sampler, schedule, method)


@pytest.mark.parametrize(("sampler", "schedule", "method"), list(_order_cases()))
def test_fixed_step_convergence_order(sampler, schedule, method):
    order, steps = ORDERS[(schedule, method)]
    x_0 = _x0()
    errors = [_endpoint_error(SAMPLERS[sampler](method, steps=n), schedule, x_0) for n in steps]
    assert all(e > 1e-11 for e in errors), errors  # truncation error, not round-off
    slope = _slope(steps, errors)
    assert abs(slope - order) < 0.3, (slope, errors)


@pytest.mark.parametrize("schedule", sorted(FLOWS))
def test_ode_dopri5_reaches_tight_tolerance(schedule):
    sampler = ODESampler(method="dopri5", atol=1e-8, rtol=1e-8)
    assert _endpoint_error(sampler, schedule, _x0()) < 1e-6


@pytest.mark.parametrize("solver", ["tsit5", "dopri5"])
@pytest.mark.parametrize("schedule", sorted(FLOWS))
def test_torchdyn_adaptive_reaches_small_error(schedule, solver):
    # torchdyn's error tracks the tolerance loosely below ~1e-8 (tsit5 at 1e-10 measures 4e-8 on
    # the condot flow, still 25x better than needed here).
    sampler = TorchdynSampler(solver=solver, atol=1e-10, rtol=1e-10)
    assert _endpoint_error(sampler, schedule, _x0()) < 1e-6


NFE_PER_STEP = {"euler": 1, "midpoint": 2, "rk4": 4}


@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
@pytest.mark.parametrize("method", sorted(NFE_PER_STEP))
@pytest.mark.parametrize("steps", [1, 5])
def test_fixed_step_nfe_is_the_true_call_count(sampler, method, steps):
    calls = []

    def model(x, t):
        calls.append(t)
        return FLOWS["cosine"].velocity(x, t)

    out = SAMPLERS[sampler](method, steps=steps).sample(model, FM_PATH, _x0(8))
    assert out.nfe == len(calls) == NFE_PER_STEP[method] * steps
    assert all(t.shape == (8,) and t.dtype == DT for t in calls)


def test_ode_adaptive_nfe_is_the_true_call_count():
    calls = []

    def model(x, t):
        calls.append(t)
        return FLOWS["cosine"].velocity(x, t)

    out = ODESampler(method="dopri5", atol=1e-6, rtol=1e-6).sample(model, FM_PATH, _x0(8))
    assert out.nfe == len(calls) > 6


def test_ode_sampler_evaluates_model_at_grid_times_in_state_dtype():
    times = []

    def model(x, t):
        times.append(t[0].item())
        return torch.zeros_like(x)

    ODESampler(method="euler", steps=3).sample(model, FM_PATH, _x0(2))
    assert times == torch.linspace(0, 1, 4, dtype=DT)[:-1].tolist()


def test_grid_power_shortens_the_steps_near_the_noise():
    times = []

    def model(x, t):
        times.append(t[0].item())
        return torch.zeros_like(x)

    ODESampler(method="euler", steps=4, grid_power=2).sample(model, FM_PATH, _x0(2))
    assert times == pytest.approx([0, 1 / 16, 1 / 4, 9 / 16])
    # Still a straight flow's exact solver: the grid only moves where the steps end.
    x0 = _x0(8)
    exact = ODESampler(method="midpoint", steps=3, grid_power=2).sample(
        lambda x, t: torch.ones_like(x), FM_PATH, x0
    )
    torch.testing.assert_close(exact.x, x0 + 1)


@pytest.mark.parametrize("power", [0, -1, float("inf"), float("nan"), "2", True])
def test_grid_power_must_be_a_positive_number(power):
    with pytest.raises(ValueError, match=r"grid_power=.* must be a number > 0"):
        ODESampler(grid_power=power)
    assert ODESampler(grid_power=None).grid_power == 1  # a config's null: equal steps


@pytest.mark.parametrize(
    ("sampler", "method", "steps", "atol"),
    [("ode", "rk4", 16, 1e-4), ("ode", "dopri5", 16, 2e-3), ("torchdyn", "midpoint", 32, 5e-3)],
)
def test_trajectory_holds_the_states_at_the_grid_times(sampler, method, steps, atol):
    x_0 = _x0(8)
    flow = FLOWS["cosine"]
    out = SAMPLERS[sampler](method, steps=steps, return_trajectory=True).sample(
        flow.velocity, FM_PATH, x_0
    )
    assert out.trajectory.shape == (steps + 1, 8, 3)
    torch.testing.assert_close(out.trajectory[0], x_0, rtol=0, atol=0)
    torch.testing.assert_close(out.trajectory[-1], out.x, rtol=0, atol=0)
    # atol is ~5x each method's measured error (9e-6, 4e-4, 1.5e-3); states saved one grid time
    # off would be up to 0.17-0.34 away.
    exact = torch.stack([flow.flow(x_0, k / steps) for k in range(steps + 1)])
    torch.testing.assert_close(out.trajectory, exact, rtol=0, atol=atol)


@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
def test_trajectory_of_image_shaped_states(sampler):
    steps = 4
    x_0 = torch.randn(3, 2, 4, 4, generator=torch.Generator().manual_seed(1), dtype=DT)
    out = SAMPLERS[sampler]("rk4", steps=steps, return_trajectory=True).sample(
        lambda x, t: -x, FM_PATH, x_0
    )
    assert out.trajectory.shape == (steps + 1, 3, 2, 4, 4)
    torch.testing.assert_close(out.trajectory[-1], out.x, rtol=0, atol=0)
    # x' = -x is autonomous, so even torchdyn's rk4 is order 4 here: error ~ 1e-4 at 4 steps.
    torch.testing.assert_close(out.x, x_0 * math.exp(-1), rtol=0, atol=1e-3)


# --------------------------------------------------------------------------------------------
# Diffusers samplers with the exact noise predictor of Gaussian data
# --------------------------------------------------------------------------------------------

DATA_MU = torch.tensor([1.0, -0.5], dtype=DT)
DATA_SIGMA = torch.tensor([[1.0, 0.6], [0.6, 0.5]], dtype=DT)
_LAMBDA, _Q = torch.linalg.eigh(DATA_SIGMA)
N_SAMPLES = 20_000


def _diffusion_path(prediction_type: str = "v_prediction", spacing="trailing") -> DiffusionPath:
    # The analytic tests start on the noisiest step (trailing), where the output law is closest
    # to the data's; with epsilon the samplers refuse that step (a trained network's error x 2e4
    # there), so epsilon models use leading spacing.
    return DiffusionPath(
        beta_schedule="squaredcos_cap_v2",
        prediction_type=prediction_type,
        timestep_spacing=spacing,
    )


@pytest.mark.parametrize("sampler_type", ["ddim", "ddpm"])
def test_default_spacing_starts_one_stride_below_the_noisiest_step(sampler_type):
    path = DiffusionPath()
    scheduler = DiffusersSampler(sampler_type, steps=50).build_scheduler(path)
    scheduler.set_timesteps(50)
    assert path.hparams.timestep_spacing == "leading"
    assert path.prediction_type == "v_prediction"
    assert scheduler.timesteps.tolist() == list(range(980, -1, -20))


#: diffusers' multistep solvers space "leading" by T // (steps + 1): from 250 steps of 1000 they
#: started at timestep 750 (digits judged on all samples: C2ST 0.915 against DDIM's 0.713).
MULTISTEP = ["dpmsolver++", "UniPCMultistepScheduler", "DEISMultistepScheduler"]


@pytest.mark.parametrize("sampler_type", MULTISTEP)
@pytest.mark.parametrize("steps", [250, 500])
def test_multistep_solver_at_many_steps_starts_on_the_noisiest_step(sampler_type, steps):
    path = DiffusionPath()  # leading spacing, v-prediction: the defaults
    raw = DiffusersSampler(sampler_type, steps=steps).build_scheduler(path)
    raw.set_timesteps(steps)
    assert starts_short(raw, steps) and int(raw.timesteps[0]) <= 750  # diffusers' own grid
    scheduler = DiffusersSampler(sampler_type, steps=steps).timed_scheduler(path)
    assert int(scheduler.timesteps[0]) == path.num_train_timesteps - 1
    assert scheduler.config.timestep_spacing == "linspace"
    assert len(scheduler.timesteps) == steps


@pytest.mark.parametrize("sampler_type", ["dpmsolver++", "UniPCMultistepScheduler"])
def test_multistep_solver_at_many_steps_samples_the_exact_law(sampler_type):
    """Deterministic multistep solvers are affine in x_init: their exact output law with the exact
    v-predictor is near the data at 250 steps as at 25 (it kept noise when it started at 750)."""
    path = DiffusionPath(beta_schedule="squaredcos_cap_v2")
    mean, cov = _affine_law(DiffusersSampler(sampler_type, steps=250), path)
    assert (mean - DATA_MU).abs().max() < 1e-3
    assert _relative_to_scale(cov - DATA_SIGMA, DATA_SIGMA).abs().max() < 0.02


@pytest.mark.parametrize("sampler_type", MULTISTEP)
@pytest.mark.parametrize("steps", [1, 10, 20])
def test_multistep_solver_starts_on_the_noisiest_step_at_every_count(sampler_type, steps):
    """linspace at every count for a v model, also where leading would start near the top (940
    of 950 at 20 steps): the digits scored 0.715 against 0.750 for it at 20 steps."""
    scheduler = DiffusersSampler(sampler_type, steps=steps).timed_scheduler(DiffusionPath())
    assert scheduler.config.timestep_spacing == "linspace"
    assert int(scheduler.timesteps[0]) == 999


@pytest.mark.parametrize("steps", [10, 20])
def test_epsilon_model_keeps_the_leading_grid_of_few_multistep_steps(steps):
    """An epsilon model cannot start on the noisiest step; within one step of the top (940 of
    950 at 20 steps, the old diffusion preset's sampler) its leading grid stays as it was."""
    path = DiffusionPath(prediction_type="epsilon")
    scheduler = DiffusersSampler("dpmsolver++", steps=steps).timed_scheduler(path)
    assert scheduler.config.timestep_spacing == "leading"
    assert int(scheduler.timesteps[0]) == {10: 900, 20: 940}[steps]


def test_short_leading_grids_are_those_of_the_multistep_solvers():
    path = DiffusionPath()
    short = [
        name
        for name in [*SCHEDULERS, *compatible_schedulers()]
        if leading_grid_falls_short(DiffusersSampler(name).build_scheduler(path))
    ]
    multistep = ["DEISMultistepScheduler", "DPMSolverMultistepScheduler", "UniPCMultistepScheduler"]
    assert sorted(short) == sorted(["dpmsolver", "dpmsolver++", *multistep])


@pytest.mark.parametrize("sampler_type", ["ddim", "ddpm", "EulerDiscreteScheduler"])
@pytest.mark.parametrize("steps", [2, 50, 250, 999])
def test_leading_grid_of_single_step_schedulers_does_not_start_short(sampler_type, steps):
    scheduler = DiffusersSampler(sampler_type, steps=steps).timed_scheduler(DiffusionPath())
    assert scheduler.config.timestep_spacing == "leading"
    assert not starts_short(scheduler, steps)


def test_chosen_spacing_is_kept_and_refused_where_it_starts_short():
    path = DiffusionPath()
    leading = {"timestep_spacing": "leading"}
    kept = DiffusersSampler("dpmsolver++", steps=20, scheduler_options=leading)
    assert int(kept.timed_scheduler(path).timesteps[0]) == 940
    with pytest.raises(ConfigError, match=r"starts at timestep 750.*Leave timestep_spacing out"):
        DiffusersSampler("UniPCMultistepScheduler", 250, scheduler_options=leading).sample(
            _oracle(path), path, _noise(4)
        )


def test_epsilon_model_whose_multistep_schedule_starts_short_is_refused():
    path = DiffusionPath(prediction_type="epsilon")
    with pytest.raises(ConfigError, match=r"250 steps starts at timestep 750.*use ddim or ddpm"):
        DiffusersSampler("dpmsolver++", steps=250).sample(_oracle(path), path, _noise(4))
    DiffusersSampler("dpmsolver++", steps=20).sample(_oracle(path), path, _noise(4))
    DiffusersSampler("ddim", steps=250).sample(_oracle(path), path, _noise(4))


@pytest.mark.parametrize(
    ("sampler_type", "spacing"),
    [
        ("DPMSolverSinglestepScheduler", "leading"),
        ("ddim", "trailing"),
        ("dpmsolver++", "trailing"),
    ],
)
def test_epsilon_model_starting_on_the_noisiest_cosine_step_is_refused(sampler_type, spacing):
    """alphas_cumprod[999] ~2.4e-9: an epsilon network's error x 2e4; its samples blew up."""
    path = DiffusionPath(prediction_type="epsilon", timestep_spacing=spacing)
    model = _oracle(path)
    with pytest.raises(ConfigError, match=r"starts at timestep 999.*2e\+04.*v_prediction"):
        DiffusersSampler(sampler_type, steps=10).sample(model, path, _noise(4))


def test_zero_snr_model_is_refused_by_a_scheduler_that_cannot_read_it():
    path = DiffusionPath(rescale_betas_zero_snr=True)
    assert float(path.scheduler.alphas_cumprod[-1]) < 1e-8
    with pytest.raises(ConfigError, match=r"rescale_betas_zero_snr=true.*DDIMScheduler"):
        DiffusersSampler("HeunDiscreteScheduler", steps=10).build_scheduler(path)
    DiffusersSampler("ddim", steps=10).build_scheduler(path)  # one that reads it


def _oracle(path: DiffusionPath, timesteps: list[int] | None = None):
    """The exact ``model(x, t)`` for ``path.prediction_type`` and data N(DATA_MU, DATA_SIGMA)."""
    abar_all = path.scheduler.alphas_cumprod.to(DT)

    def model(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        assert t.shape == (x.shape[0],) and t.is_floating_point()
        if timesteps is not None:
            timesteps.append(int(t[0]))
        # Karras-style schedulers (Heun, KDPM2) also ask between the training timesteps
        low = t.floor().long().clamp(max=len(abar_all) - 1)
        weight = (t - low)[:, None]
        abar = (1 - weight) * abar_all[low][:, None] + weight * abar_all[
            (low + 1).clamp(max=len(abar_all) - 1)
        ][:, None]
        a, b = abar.sqrt(), (1 - abar).sqrt()
        # In Sigma's eigenbasis C_t is diagonal: a^2 lambda + b^2.
        z = (x - a * DATA_MU) @ _Q
        eps = (b * z / (a**2 * _LAMBDA + b**2)) @ _Q.T
        x_1 = DATA_MU + (a * _LAMBDA * z / (a**2 * _LAMBDA + b**2)) @ _Q.T
        if path.prediction_type == "epsilon":
            return eps
        if path.prediction_type == "v_prediction":
            return a * eps - b * x_1
        return x_1

    return model


def _noise(batch: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, 2, generator=torch.Generator().manual_seed(seed), dtype=DT)


def _reference_law(kind: str, timesteps: list[int], abar_all: torch.Tensor):
    """Exact mean and covariance of DDIM (eta = 0) or DDPM output from x_init ~ N(0, I).

    Each step is affine-Gaussian in x_t, ``x_s = P x_t + q + sqrt(var) z``; after the last
    timestep comes ``abar = 1``. DDIM: Song et al. (2021) eq. 12 with sigma = 0. DDPM: the
    posterior q(x_s | x_t, x_1_hat) of Ho et al. (2020) eqs. 6-7, for a jump from t to s.
    """
    eye = torch.eye(2, dtype=DT)
    mean, cov = torch.zeros(2, dtype=DT), eye.clone()
    abars = [abar_all[t] for t in timesteps] + [torch.tensor(1.0, dtype=DT)]
    for abar_t, abar_s in itertools.pairwise(abars):
        a_t, b_t, a_s, b_s = abar_t.sqrt(), (1 - abar_t).sqrt(), abar_s.sqrt(), (1 - abar_s).sqrt()
        precision = torch.linalg.inv(a_t**2 * DATA_SIGMA + b_t**2 * eye)
        # eps_hat = E x + e and x1_hat = X x + xo, both exact conditional means.
        E, e = b_t * precision, -b_t * a_t * precision @ DATA_MU
        X = a_t * DATA_SIGMA @ precision
        xo = DATA_MU - a_t * X @ DATA_MU
        if kind == "ddim":
            P, q, var = a_s * X + b_s * E, a_s * xo + b_s * e, 0.0
        else:
            beta = 1 - abar_t / abar_s
            c_1 = a_s * beta / (1 - abar_t)
            c_t = (abar_t / abar_s).sqrt() * (1 - abar_s) / (1 - abar_t)
            P, q, var = c_1 * X + c_t * eye, c_1 * xo, beta * (1 - abar_s) / (1 - abar_t)
        mean, cov = P @ mean + q, P @ cov @ P.T + var * eye
    return mean, cov


def _affine_law(sampler: DiffusersSampler, path: DiffusionPath):
    """Exact output law of a deterministic sampler: it is affine in x_init, so three inputs
    (0, e_1, e_2) give ``x = c + A x_init`` and the image of N(0, I) is N(c, A A^T)."""
    out = sampler.sample(_oracle(path), path, torch.cat([torch.zeros(1, 2), torch.eye(2)]).to(DT))
    c = out.x[0]
    A = (out.x[1:] - c).T
    return c, A @ A.T


def _relative_to_scale(cov_error: torch.Tensor, cov: torch.Tensor) -> torch.Tensor:
    sd = cov.diagonal().sqrt()
    return cov_error / torch.outer(sd, sd)


#: sampler_type -> (steps, allowed discretisation bias). The bias is that of the algorithm with a
#: perfect network at this step count, computed exactly in test_exact_output_law_is_near_the_data
#: (DDIM 100: cov -2.7%; DDPM 100: cov -5.0%, under-dispersed by its fixed_small posterior
#: variance; DPM-Solver++ 25: -1.1%; means within 4e-5). It is relative to sqrt(S_ii S_jj).
BIAS = {"ddim": (100, 0.035), "ddpm": (100, 0.06), "dpmsolver++": (25, 0.02)}


def _monte_carlo_tolerances(cov: torch.Tensor, n: int, z: float = 5.0):
    """z standard errors of the sample mean and sample covariance of N(., cov)."""
    se_mean = (cov.diagonal() / n).sqrt()
    se_cov = ((cov**2 + torch.outer(cov.diagonal(), cov.diagonal())) / n).sqrt()
    return z * se_mean, z * se_cov


@pytest.mark.parametrize("sampler_type", sorted(BIAS))
def test_recovers_gaussian_data_with_exact_noise_predictor(sampler_type):
    steps, bias = BIAS[sampler_type]
    path = _diffusion_path()
    sampler = DiffusersSampler(sampler_type=sampler_type, steps=steps)
    generator = torch.Generator().manual_seed(1)
    x = sampler.sample(_oracle(path), path, _noise(N_SAMPLES), generator=generator).x
    assert x.shape == (N_SAMPLES, 2) and x.dtype == DT

    tol_mean, tol_cov = _monte_carlo_tolerances(DATA_SIGMA, N_SAMPLES)
    sd = DATA_SIGMA.diagonal().sqrt()
    mean_error = (x.mean(0) - DATA_MU).abs()
    cov_error = (torch.cov(x.T) - DATA_SIGMA).abs()
    assert torch.all(mean_error <= tol_mean + bias * sd), mean_error
    assert torch.all(cov_error <= tol_cov + bias * torch.outer(sd, sd)), cov_error


@pytest.mark.parametrize("sampler_type", ["ddim", "ddpm"])
def test_sampler_follows_its_exact_recursion(sampler_type):
    steps, _ = BIAS[sampler_type]
    path = _diffusion_path()
    abar_all = path.scheduler.alphas_cumprod.to(DT)
    sampler = DiffusersSampler(sampler_type=sampler_type, steps=steps)
    timesteps = []
    if sampler_type == "ddim":
        # Deterministic and affine: its exact law needs no Monte Carlo.
        model = _oracle(path, timesteps)
        x = sampler.sample(model, path, torch.cat([torch.zeros(1, 2), torch.eye(2)]).to(DT)).x
        mean, A = x[0], (x[1:] - x[0]).T
        ref_mean, ref_cov = _reference_law("ddim", timesteps, abar_all)
        # diffusers steps with float32 scalars of the schedule: ~1e-7 per step.
        # (Measured: 1e-9 and 8e-7; reading the schedule one timestep off moves them by 1e-3, 8e-5.)
        torch.testing.assert_close(mean, ref_mean, rtol=0, atol=1e-6)
        torch.testing.assert_close(A @ A.T, ref_cov, rtol=0, atol=1e-5)
    else:
        generator = torch.Generator().manual_seed(2)
        x = sampler.sample(
            _oracle(path, timesteps), path, _noise(N_SAMPLES, seed=3), generator=generator
        ).x
        ref_mean, ref_cov = _reference_law("ddpm", timesteps, abar_all)
        tol_mean, tol_cov = _monte_carlo_tolerances(ref_cov, N_SAMPLES)
        assert torch.all((x.mean(0) - ref_mean).abs() <= tol_mean)
        assert torch.all((torch.cov(x.T) - ref_cov).abs() <= tol_cov)
    # trailing spacing: from the noisiest step down in equal strides of T / steps.
    stride = path.num_train_timesteps // steps
    assert timesteps == list(range(path.num_train_timesteps - 1, 0, -stride))


@pytest.mark.parametrize("sampler_type", sorted(BIAS))
def test_exact_output_law_is_near_the_data(sampler_type):
    steps, bias = BIAS[sampler_type]
    path = _diffusion_path()
    sampler = DiffusersSampler(sampler_type=sampler_type, steps=steps)
    if sampler_type == "dpmsolver++":
        mean, cov = _affine_law(sampler, path)
    else:
        timesteps = []
        sampler.sample(_oracle(path, timesteps), path, _noise(1))
        mean, cov = _reference_law(sampler_type, timesteps, path.scheduler.alphas_cumprod.to(DT))
    assert (mean - DATA_MU).abs().max() < 1e-3
    rel = _relative_to_scale(cov - DATA_SIGMA, DATA_SIGMA).abs().max()
    assert 0.1 * bias < rel <= bias, rel  # a real, small bias: the allowance is not slack


def test_ddim_bias_is_first_order_in_the_step():
    # DDIM contracts every step (Cauchy-Schwarz on (a_s sqrt(lambda), b_s).(a_t sqrt(lambda), b_t)),
    # by 1 - O(h^2) per step: the covariance bias halves when the steps double.
    path = _diffusion_path()
    biases = []
    for steps in (50, 100, 200):
        _, cov = _affine_law(DiffusersSampler("ddim", steps=steps), path)
        biases.append(_relative_to_scale(cov - DATA_SIGMA, DATA_SIGMA).diagonal().min().item())
    assert all(b < 0 for b in biases)  # under-dispersed
    assert _slope([50, 100, 200], np.abs(biases)) == pytest.approx(1.0, abs=0.15)


#: sampler_type -> how far the epsilon route may drift from the others. Turning eps into a
#: clean-data estimate divides by sqrt(abar_t) (3e-2 at leading spacing's first of 20 steps,
#: 5e-5 on the noisiest step, which epsilon models may no longer start on), so the float32
#: rounding of the scheduler's sqrt(1 - abar) grows in the first estimate; DDIM weights it by
#: sqrt(abar) of the next step, DPM-Solver++ reuses it in its second-order update. The bounds
#: were set for the noisiest step and hold a fortiori.
EPSILON_DRIFT = {"ddim": 2e-5, "ddpm": 2e-5, "dpmsolver++": 1e-3}


@pytest.mark.parametrize("sampler_type", sorted(EPSILON_DRIFT))
def test_prediction_types_give_the_same_samples(sampler_type):
    # one schedule for all three (v and sample models would get linspace for DPM-Solver++)
    options = {"timestep_spacing": "leading"}
    sampler = DiffusersSampler(sampler_type=sampler_type, steps=20, scheduler_options=options)
    outs = {}
    for prediction_type in ("epsilon", "v_prediction", "sample"):
        path = _diffusion_path(prediction_type, spacing="leading")
        generator = torch.Generator().manual_seed(0)
        outs[prediction_type] = sampler.sample(_oracle(path), path, _noise(64, 4), generator).x
    # v and x_1 convert to each other without dividing by a small number.
    torch.testing.assert_close(outs["v_prediction"], outs["sample"], rtol=0, atol=1e-5)
    drift = EPSILON_DRIFT[sampler_type]
    torch.testing.assert_close(outs["epsilon"], outs["sample"], rtol=0, atol=drift)


DEPRECATED = pytest.mark.filterwarnings("ignore:.*algorithm_type dpmsolver.*:FutureWarning")


@pytest.mark.parametrize(
    "sampler_type",
    [
        pytest.param(name, marks=[DEPRECATED] if name == "dpmsolver" else [])
        for name in sorted(SCHEDULERS)
    ],
)
def test_every_sampler_type_samples_the_data(sampler_type):
    path = _diffusion_path()
    sampler = DiffusersSampler(sampler_type=sampler_type, steps=50)
    x = sampler.sample(_oracle(path), path, _noise(4000), torch.Generator().manual_seed(0)).x
    # 5 standard errors of 4000 samples plus the 6% bias allowance of the loosest sampler.
    tol_mean, _ = _monte_carlo_tolerances(DATA_SIGMA, 4000)
    assert torch.all((x.mean(0) - DATA_MU).abs() <= tol_mean + 0.06 * DATA_SIGMA.diagonal().sqrt())


def test_diffusers_schedulers_compatible_with_ddpm_training_are_selectable_by_name():
    names = compatible_schedulers()
    wanted = {"UniPCMultistepScheduler", "EulerDiscreteScheduler", "HeunDiscreteScheduler"}
    wanted |= {"DPMSolverMultistepScheduler", "DPMSolverSinglestepScheduler", "DDIMScheduler"}
    assert wanted <= set(names)
    assert "EDMEulerScheduler" not in names  # its own sigma schedule and time convention
    path = _diffusion_path()
    scheduler = DiffusersSampler("UniPCMultistepScheduler", 10).build_scheduler(path)
    assert type(scheduler).__name__ == "UniPCMultistepScheduler"
    assert scheduler.config.beta_schedule == "squaredcos_cap_v2"  # the path's noise schedule
    options = {"use_karras_sigmas": True}
    karras = DiffusersSampler("EulerDiscreteScheduler", 10, scheduler_options=options)
    assert karras.build_scheduler(path).config.use_karras_sigmas


@pytest.mark.parametrize("name", ["foo", "EDMEulerScheduler", "UNet2DModel"])
def test_unknown_or_incompatible_scheduler_lists_the_choices(name):
    with pytest.raises(ValueError, match=f"sampler_type='{name}'") as info:
        DiffusersSampler(name)
    assert "'dpmsolver++'" in str(info.value) and "UniPCMultistepScheduler" in str(info.value)


@pytest.mark.parametrize("name", compatible_schedulers())
def test_every_compatible_diffusers_scheduler_samples_the_data(name):
    path = DiffusionPath(beta_schedule="squaredcos_cap_v2")  # flowdiff's default spacing
    sampler = DiffusersSampler(sampler_type=name, steps=25)
    out = sampler.sample(_oracle(path), path, _noise(4000), torch.Generator().manual_seed(0))
    sd = DATA_SIGMA.diagonal().sqrt()
    tol_mean, _ = _monte_carlo_tolerances(DATA_SIGMA, 4000)
    assert torch.all((out.x.mean(0) - DATA_MU).abs() <= tol_mean + 0.06 * sd)
    # the spread too: a sampler reading the schedule wrongly lands far off (EDM's: 60% off)
    assert torch.all((out.x.std(0) / sd - 1).abs() < 0.15), out.x.std(0) / sd
    assert out.nfe >= 25


@pytest.mark.parametrize("sampler_type", ["ddim", "ddpm", "dpmsolver++"])
def test_sampler_leaves_the_path_scheduler_alone(sampler_type):
    path = _diffusion_path()
    before_timesteps = path.scheduler.timesteps.clone()
    before_config = dict(path.scheduler_config)
    sampler = DiffusersSampler(sampler_type=sampler_type, steps=10)
    first = sampler.sample(_oracle(path), path, _noise(16), torch.Generator().manual_seed(0)).x
    second = sampler.sample(_oracle(path), path, _noise(16), torch.Generator().manual_seed(0)).x
    assert path.scheduler.num_inference_steps is None
    torch.testing.assert_close(path.scheduler.timesteps, before_timesteps, rtol=0, atol=0)
    assert path.scheduler_config == before_config
    # No state carried between calls (multistep history, step index).
    torch.testing.assert_close(first, second, rtol=0, atol=0)


def test_ddpm_noise_follows_the_generator():
    path = _diffusion_path()
    sampler = DiffusersSampler("ddpm", steps=10)

    def run(seed):
        generator = torch.Generator().manual_seed(seed)
        return sampler.sample(_oracle(path), path, _noise(16), generator).x

    torch.testing.assert_close(run(5), run(5), rtol=0, atol=0)
    assert (run(5) - run(6)).abs().max() > 1e-2


@pytest.mark.parametrize("sampler_type", ["ddim", "ddpm", "dpmsolver++"])
def test_diffusers_trajectory(sampler_type):
    steps, path = 10, _diffusion_path()
    x_init = torch.randn(4, 2, 3, 3, generator=torch.Generator().manual_seed(0), dtype=DT)
    sampler = DiffusersSampler(sampler_type, steps=steps, return_trajectory=True)

    def model(x, t):
        return 0.5 * x

    out = sampler.sample(model, path, x_init, torch.Generator().manual_seed(0))
    assert out.trajectory.shape == (steps + 1, 4, 2, 3, 3)
    assert out.nfe == steps
    torch.testing.assert_close(out.trajectory[0], x_init, rtol=0, atol=0)
    torch.testing.assert_close(out.trajectory[-1], out.x, rtol=0, atol=0)


# --------------------------------------------------------------------------------------------
# Refusals
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sampler", "path", "fix"),
    [
        (ODESampler(), _diffusion_path(), "model/sampler=diffusers"),
        (TorchdynSampler(), _diffusion_path(), "model/sampler=diffusers"),
        (DiffusersSampler(), FlowMatchingPath(), "model/sampler=ode"),
    ],
    ids=["ode-diffusion", "torchdyn-diffusion", "diffusers-flow_matching"],
)
def test_check_compatible_refuses_the_other_family(sampler, path, fix):
    with pytest.raises(ValueError) as info:
        check_compatible(sampler, path)
    message = str(info.value)
    assert type(sampler).__name__ in message
    assert type(path).__name__ in message
    assert fix in message


@pytest.mark.parametrize(
    ("sampler", "path"),
    [
        (ODESampler(), FlowMatchingPath()),
        (TorchdynSampler(), FlowMatchingPath()),
        (DiffusersSampler(), _diffusion_path()),
    ],
)
def test_check_compatible_accepts_its_family(sampler, path):
    check_compatible(sampler, path)


@pytest.mark.parametrize(
    ("build", "key", "value"),
    [
        (lambda: ODESampler(method="rk5"), "method", "'rk5'"),
        (lambda: ODESampler(steps=0), "steps", "0"),
        (lambda: TorchdynSampler(solver="rk5"), "solver", "'rk5'"),
        (lambda: TorchdynSampler(steps=-1), "steps", "-1"),
        (lambda: DiffusersSampler(sampler_type="pndm"), "sampler_type", "'pndm'"),
        (
            lambda: DiffusersSampler(steps=0),
            "steps",
            "0",
        ),
    ],
    ids=[
        "ode-method",
        "ode-steps",
        "torchdyn-solver",
        "torchdyn-steps",
        "diffusers-type",
        "diffusers-steps",
    ],
)
def test_bad_sampler_argument_names_argument_and_value(build, key, value):
    with pytest.raises(ValueError) as info:
        build()
    assert str(info.value).startswith(f"{key}={value}")  # flowdiff-train adds model.sampler.
