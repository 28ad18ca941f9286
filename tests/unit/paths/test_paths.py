"""Maths of the probability paths, in float64, against closed forms written out here.

Flow matching: ``x_t = alpha_t x_1 + sigma_t x_0`` with ``x_0 ~ N(0, I)`` and target
``dx_t = d_alpha_t x_1 + d_sigma_t x_0``. Diffusion:
``x_t = sqrt(abar_t) x_1 + sqrt(1 - abar_t) eps`` with ``abar`` the cumulative product of
``1 - beta`` over the diffusers beta schedule.
"""

from __future__ import annotations

import math

import pytest
import torch

from flowdiff.paths import DiffusionPath, FlowMatchingPath

DT = torch.float64

# --------------------------------------------------------------------------------------------
# Flow matching
# --------------------------------------------------------------------------------------------

VP_BETA_MIN, VP_BETA_MAX = 0.1, 20.0  # flow_matching's VPScheduler defaults


def _vp(t):
    # Song et al.'s VP SDE run backwards (s = 1 - t): log alpha = -1/2 int_0^s beta(r) dr.
    s = 1 - t
    integral = VP_BETA_MIN * s + 0.5 * (VP_BETA_MAX - VP_BETA_MIN) * s**2
    return torch.exp(-0.5 * integral), torch.sqrt(1 - torch.exp(-integral))


#: scheduler name -> t -> (alpha_t, sigma_t), written out independently of flow_matching.
ALPHA_SIGMA = {
    "condot": lambda t: (t, 1 - t),
    "cosine": lambda t: (torch.sin(math.pi / 2 * t), torch.cos(math.pi / 2 * t)),
    "vp": _vp,
    "linear_vp": lambda t: (t, torch.sqrt(1 - t**2)),
    "polynomial": lambda t: (t**3, 1 - t**3),
}
FM_SCHEDULERS = sorted(ALPHA_SIGMA)


def _fm_path(name: str, **kwargs) -> FlowMatchingPath:
    return FlowMatchingPath(scheduler=name, exponent=3.0, **kwargs)


def _bcast(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return t.reshape(-1, *([1] * (like.dim() - 1)))


def _x_t(name: str, x_0, x_1, t):
    alpha, sigma = ALPHA_SIGMA[name](_bcast(t, x_1))
    return alpha * x_1 + sigma * x_0


def _velocity_fd(name: str, x_0, x_1, t, h: float = 1e-6):
    """d/dt of the closed-form x_t by central differences (error ~h^2 + 1e-16/h ~ 1e-10)."""
    return (_x_t(name, x_0, x_1, t + h) - _x_t(name, x_0, x_1, t - h)) / (2 * h)


def _data(shape, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=DT)


def test_condot_sample_reproduces_the_draw():
    path = FlowMatchingPath(scheduler="condot")
    x_1 = _data((64, 3))
    torch.manual_seed(7)
    drawn = path.sample(x_1)
    torch.manual_seed(7)
    x_0 = torch.randn_like(x_1)
    t = torch.rand(x_1.shape[0], dtype=DT)

    assert drawn.t.shape == (64,)
    assert drawn.t.dtype == DT
    torch.testing.assert_close(drawn.t, t, rtol=0, atol=0)
    assert drawn.t.min() >= 0 and drawn.t.max() <= 1
    tt = t[:, None]
    torch.testing.assert_close(drawn.x_t, tt * x_1 + (1 - tt) * x_0, rtol=1e-15, atol=1e-15)
    torch.testing.assert_close(drawn.target, x_1 - x_0, rtol=1e-15, atol=1e-15)
    assert drawn.weight is None


@pytest.mark.parametrize("dtype", [torch.float32, DT, torch.bfloat16])
@pytest.mark.parametrize("shape", [(64, 3), (8, 2, 4, 4)], ids=["vector", "image"])
def test_condot_sample_is_bitwise_the_librarys(dtype, shape):
    """The straight-line shortcut gives exactly what flow_matching's AffineProbPath gives."""
    path = FlowMatchingPath(scheduler="condot", t_max=0.9)
    x_1 = _data(shape).to(dtype)
    x_1.view(-1)[:2] = torch.tensor([0.0, -0.0])  # signed zeros keep their sign too
    torch.manual_seed(5)
    drawn = path.sample(x_1)
    torch.manual_seed(5)
    x_0 = torch.randn_like(x_1)
    t = torch.rand(shape[0], dtype=dtype) * 0.9
    library = path.affine.sample(x_0=x_0, x_1=x_1, t=t)
    for got, want in ((drawn.t, t), (drawn.x_t, library.x_t), (drawn.target, library.dx_t)):
        assert got.dtype == want.dtype and got.shape == want.shape
        assert torch.equal(got.view(-1).view(torch.uint8), want.view(-1).view(torch.uint8))


@pytest.mark.parametrize("name", FM_SCHEDULERS)
@pytest.mark.parametrize("shape", [(32, 3), (8, 2, 4, 4)], ids=["vector", "image"])
def test_fm_sample_matches_closed_form(name, shape):
    t_max = 0.9  # keeps d_sigma of vp / linear_vp (singular at t = 1) finite
    path = _fm_path(name, t_max=t_max)
    x_1 = _data(shape)
    torch.manual_seed(3)
    drawn = path.sample(x_1)
    torch.manual_seed(3)
    x_0 = torch.randn_like(x_1)
    t = torch.rand(shape[0], dtype=DT) * t_max

    torch.testing.assert_close(drawn.t, t, rtol=0, atol=0)
    assert drawn.t.shape == (shape[0],)
    assert drawn.t.min() >= 0 and drawn.t.max() <= t_max
    torch.testing.assert_close(drawn.x_t, _x_t(name, x_0, x_1, t), rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(drawn.target, _velocity_fd(name, x_0, x_1, t), rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("name", FM_SCHEDULERS)
def test_fm_library_alpha_sigma_are_the_closed_forms(name):
    t = torch.linspace(0.01, 0.99, 99, dtype=DT)
    out = _fm_path(name).affine.scheduler(t)
    alpha, sigma = ALPHA_SIGMA[name](t)
    torch.testing.assert_close(out.alpha_t, alpha, rtol=1e-14, atol=1e-14)
    torch.testing.assert_close(out.sigma_t, sigma, rtol=1e-14, atol=1e-14)


def _predict_x1_case(name: str, shape):
    """Closed-form (x_1, x_t, velocity, t) with t in [0.05, 0.95], away from singular ends."""
    x_1, x_0 = _data(shape, seed=1), _data(shape, seed=2)
    t = torch.linspace(0.05, 0.95, shape[0], dtype=DT)
    return x_1, _x_t(name, x_0, x_1, t), _velocity_fd(name, x_0, x_1, t), t


@pytest.mark.parametrize("name", FM_SCHEDULERS)
@pytest.mark.parametrize(
    "shape",
    [(19,), (5, 3), (4, 4), (5, 1, 4, 4)],
    ids=["scalar", "vector", "square", "image"],
)
def test_fm_predict_x1_inverts_the_velocity(name, shape):
    # "square" (B == D) guards against t of shape (B,) broadcasting along the last axis of x_t,
    # which would run without error and be wrong.
    x_1, x_t, velocity, t = _predict_x1_case(name, shape)
    x1_hat = _fm_path(name).predict_x1(velocity, x_t, t)
    torch.testing.assert_close(x1_hat, x_1, rtol=1e-6, atol=1e-6)


def test_fm_predict_x1_inverts_its_own_draw():
    path = _fm_path("cosine", t_max=0.95)
    x_1 = _data((64, 2, 3))
    drawn = path.sample(x_1)
    # Cosine: x_1 = sin(pi t / 2) x_t + cos(pi t / 2) dx_t / (pi / 2), well conditioned on [0, 1].
    x1_hat = path.predict_x1(drawn.target, drawn.x_t, drawn.t)
    torch.testing.assert_close(x1_hat, x_1, rtol=1e-12, atol=1e-12)


def test_fm_unknown_scheduler_names_value_and_choices():
    with pytest.raises(ValueError) as info:
        FlowMatchingPath(scheduler="cosine_vp")
    message = str(info.value)
    assert message.startswith("scheduler='cosine_vp'")  # the argument, not a config key
    assert "'cosine_vp'" in message
    for choice in FM_SCHEDULERS:
        assert repr(choice) in message


@pytest.mark.parametrize("t_max", [0.0, -0.5, 1.5])
def test_fm_t_max_out_of_range_names_the_argument(t_max):
    with pytest.raises(ValueError, match=r"^t_max="):
        FlowMatchingPath(t_max=t_max)


# --------------------------------------------------------------------------------------------
# Diffusion
# --------------------------------------------------------------------------------------------

T = 1000
BETA_START, BETA_END = 1e-4, 0.02
PREDICTION_TYPES = ("epsilon", "v_prediction", "sample")
BETA_SCHEDULES = ("linear", "scaled_linear", "squaredcos_cap_v2")
#: diffusers keeps betas and their cumulative product in float32: a product of T factors
#: carries relative error up to ~T * 6e-8 = 6e-5 (measured: 1.3e-5 at the noisiest cosine step).
ABAR_RTOL = 5e-5


def _cosine_alpha_bar(u: torch.Tensor) -> torch.Tensor:
    # Nichol & Dhariwal (2021), eq. 17 with s = 0.008.
    return torch.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2


def _betas(schedule: str) -> torch.Tensor:
    """The beta schedule of diffusers, in float64."""
    if schedule == "linear":
        return torch.linspace(BETA_START, BETA_END, T, dtype=DT)
    if schedule == "scaled_linear":
        return torch.linspace(BETA_START**0.5, BETA_END**0.5, T, dtype=DT) ** 2
    i = torch.arange(T, dtype=DT)
    ratio = _cosine_alpha_bar((i + 1) / T) / _cosine_alpha_bar(i / T)
    return (1 - ratio).clamp(max=0.999)


def _abar64(schedule: str) -> torch.Tensor:
    return torch.cumprod(1 - _betas(schedule), dim=0)


def _diff_path(schedule: str = "squaredcos_cap_v2", prediction_type: str = "epsilon"):
    return DiffusionPath(
        num_train_timesteps=T,
        beta_schedule=schedule,
        prediction_type=prediction_type,
        beta_start=BETA_START,
        beta_end=BETA_END,
    )


@pytest.mark.parametrize("schedule", BETA_SCHEDULES)
def test_alphas_cumprod_is_the_float64_schedule(schedule):
    abar = _diff_path(schedule).scheduler.alphas_cumprod.to(DT)
    torch.testing.assert_close(abar, _abar64(schedule), rtol=ABAR_RTOL, atol=0)
    assert torch.all(abar[1:] < abar[:-1])


def test_cosine_schedule_telescopes_to_closed_form():
    # Unclipped steps telescope: abar_i = f((i + 1) / T) / f(0); only the last beta is clipped.
    i = torch.arange(T, dtype=DT)
    closed = _cosine_alpha_bar((i + 1) / T) / _cosine_alpha_bar(torch.zeros((), dtype=DT))
    assert (_betas("squaredcos_cap_v2") >= 0.999).nonzero().ravel().tolist() == [T - 1]
    torch.testing.assert_close(_abar64("squaredcos_cap_v2")[:-1], closed[:-1], rtol=1e-12, atol=0)


def _target(prediction_type: str, x_1, eps, abar):
    if prediction_type == "epsilon":
        return eps
    if prediction_type == "v_prediction":
        return abar.sqrt() * eps - (1 - abar).sqrt() * x_1
    return x_1


@pytest.mark.parametrize("schedule", BETA_SCHEDULES)
@pytest.mark.parametrize("prediction_type", PREDICTION_TYPES)
@pytest.mark.parametrize("shape", [(256, 3), (16, 2, 3, 3)], ids=["vector", "image"])
def test_diffusion_sample_matches_closed_form(schedule, prediction_type, shape):
    path = _diff_path(schedule, prediction_type)
    x_1 = _data(shape)
    torch.manual_seed(11)
    drawn = path.sample(x_1)
    torch.manual_seed(11)
    t = torch.randint(0, T, (shape[0],))
    eps = torch.randn_like(x_1)

    assert drawn.t.shape == (shape[0],)
    assert drawn.t.dtype == DT
    torch.testing.assert_close(drawn.t, t.to(DT), rtol=0, atol=0)
    assert drawn.t.min() >= 0 and drawn.t.max() <= T - 1

    # Exact against the schedule diffusers holds (float32 values, promoted to float64) ...
    abar_lib = _bcast(path.scheduler.alphas_cumprod.to(DT)[t], x_1)
    x_t = abar_lib.sqrt() * x_1 + (1 - abar_lib).sqrt() * eps
    torch.testing.assert_close(drawn.x_t, x_t, rtol=1e-14, atol=1e-14)
    target = _target(prediction_type, x_1, eps, abar_lib)
    torch.testing.assert_close(drawn.target, target, rtol=1e-14, atol=1e-14)

    # ... and, to the float32 precision of that schedule, against the float64 one computed here:
    # sqrt(1 - abar) differs by at most 2.4e-6 (near t = 0, where 1 - abar ~ 4e-5 magnifies the
    # float32 rounding of abar), sqrt(abar) by 2e-7; times |x_1|, |eps| < 5.
    abar = _bcast(_abar64(schedule)[t], x_1)
    x_t64 = abar.sqrt() * x_1 + (1 - abar).sqrt() * eps
    torch.testing.assert_close(drawn.x_t, x_t64, rtol=0, atol=5e-5)
    target64 = _target(prediction_type, x_1, eps, abar)
    torch.testing.assert_close(drawn.target, target64, rtol=0, atol=5e-5)


@pytest.mark.parametrize("schedule", BETA_SCHEDULES)
@pytest.mark.parametrize("prediction_type", PREDICTION_TYPES)
@pytest.mark.parametrize("shape", [(64, 3), (8, 2, 3, 3)], ids=["vector", "image"])
def test_diffusion_predict_x1_recovers_data(schedule, prediction_type, shape):
    # Every timestep class, including both ends (abar_{T-1} ~ 2e-9 for the cosine schedule).
    path = _diff_path(schedule, prediction_type)
    x_1, eps = _data(shape, seed=4), _data(shape, seed=5)
    t = torch.linspace(0, T - 1, shape[0]).round().to(DT)
    abar = _bcast(path.scheduler.alphas_cumprod.to(DT)[t.long()], x_1)
    x_t = abar.sqrt() * x_1 + (1 - abar).sqrt() * eps
    x1_hat = path.predict_x1(_target(prediction_type, x_1, eps, abar), x_t, t)
    torch.testing.assert_close(x1_hat, x_1, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("prediction_type", PREDICTION_TYPES)
def test_diffusion_predict_x1_inverts_its_own_draw(prediction_type):
    path = _diff_path("linear", prediction_type)
    x_1 = _data((128, 2))
    drawn = path.sample(x_1)
    torch.testing.assert_close(
        path.predict_x1(drawn.target, drawn.x_t, drawn.t), x_1, rtol=1e-9, atol=1e-9
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [("prediction_type", "eps"), ("beta_schedule", "cosine"), ("num_train_timesteps", 1)],
)
def test_diffusion_bad_argument_names_argument_and_value(key, value):
    with pytest.raises(ValueError) as info:
        DiffusionPath(**{key: value})
    assert str(info.value).startswith(f"{key}={value!r}")


@pytest.mark.parametrize(
    ("key", "choices"), [("prediction_type", PREDICTION_TYPES), ("beta_schedule", BETA_SCHEDULES)]
)
def test_diffusion_bad_choice_lists_the_choices(key, choices):
    with pytest.raises(ValueError) as info:
        DiffusionPath(**{key: "nope"})
    for choice in choices:
        assert repr(choice) in str(info.value)
