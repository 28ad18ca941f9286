"""Whether a diffusers inference schedule can sample a diffusion model soundly.

Two ways a schedule that diffusers accepts still gives wrong samples, found by issue 24
(docs/benchmarks.md, diffusion preset and diffusion against step count): an epsilon network's
clean-data estimate divides its error by ``sqrt(alphas_cumprod)``, huge on the cosine schedule's
noisiest step; and diffusers' multistep solvers space a ``leading`` grid by ``T // (steps + 1)``,
so at many steps they start far below the noisiest step and denoise pure noise as a much less
noisy state. :class:`~flowdiff.samplers.DiffusersSampler` avoids the second where it can and
refuses both, with the fix, through :func:`check_sound`.
"""

from __future__ import annotations

from flowdiff.errors import ConfigError
from flowdiff.paths.base import ProbabilityPath

#: refuse a first step where an epsilon network's error is multiplied by more than this
#: (``1 / sqrt(alphas_cumprod)``): at 2e4 samples blew up (W2 ~790 on toy 2-D), at 214x (DDIM's
#: leading spacing's first of 250 steps) they still sampled (docs/benchmarks.md, diffusion
#: against step count)
MAX_AMPLIFICATION = 1e3


def starts_short(scheduler, steps: int) -> bool:
    """Whether a ``leading`` schedule's first timestep lies more than one inference step below
    where DDIM's leading grid starts (``(steps - 1) * (T // steps)``: 996 of 1000 at 250 steps).

    diffusers' multistep solvers (DPM-Solver, UniPC, DEIS) compute leading spacing against
    ``T // (steps + 1)``: at 250 steps of 1000 they start at timestep 750, at 500 steps at 500,
    and denoise unit noise as if it were the far less noisy state there (the digits judged on
    all samples: C2ST 0.915 against 0.713 for DDIM x 250; docs/benchmarks.md#diffusion-preset).
    """
    if scheduler.config.get("timestep_spacing") != "leading":
        return False
    stride = scheduler.config.num_train_timesteps // steps
    top = (steps - 1) * stride + scheduler.config.get("steps_offset", 0)
    return float(scheduler.timesteps[0]) < top - stride


def leading_grid_falls_short(scheduler) -> bool:
    """Whether ``scheduler`` spaces a ``leading`` grid so that it :func:`starts_short` at many
    steps, as diffusers' multistep solvers do; probed on a copy at a quarter of the training
    timesteps (250 of 1000)."""
    if scheduler.config.get("timestep_spacing") != "leading":
        return False
    probe = type(scheduler).from_config(scheduler.config)
    steps = max(2, probe.config.num_train_timesteps // 4)
    probe.set_timesteps(steps)
    return starts_short(probe, steps)


def check_sound(sampler_type: str, scheduler, path: ProbabilityPath, steps: int) -> None:
    """Refuse a schedule that :func:`starts_short` (its samples would keep noise), and an epsilon
    model whose first inference step amplifies the network's error beyond
    :data:`MAX_AMPLIFICATION` (its samples would blow up), naming the step and the fix."""
    first = int(float(scheduler.timesteps[0]))
    epsilon = getattr(path, "prediction_type", None) == "epsilon"
    if starts_short(scheduler, steps):
        fix = (
            "For this epsilon-prediction model use ddim or ddpm (their leading grid starts one "
            "step below the top), or fewer steps; models trained with "
            "model.path.prediction_type=v_prediction sample such schedulers with linspace spacing."
            if epsilon
            else "Leave timestep_spacing out of model.sampler.scheduler_options (this scheduler "
            "then samples this model with linspace spacing), or set it to linspace."
        )
        raise ConfigError(
            f"sampler_type={sampler_type!r} with {steps} steps starts at timestep {first}, far "
            "below the noisiest training step (diffusers spaces this scheduler's leading grid by "
            f"{scheduler.config.num_train_timesteps} // (steps + 1)): it would denoise pure noise "
            f"as if it were the much less noisy state there, and the samples keep noise. {fix}"
        )
    if not epsilon:
        return
    abar = float(path.scheduler.alphas_cumprod[min(first, len(path.scheduler.alphas_cumprod) - 1)])
    if abar > 0 and abar**-0.5 <= MAX_AMPLIFICATION:
        return
    raise ConfigError(
        f"sampler_type={sampler_type!r} starts at timestep {first}, where alphas_cumprod is "
        f"{abar:.1e}: this epsilon-prediction model's clean-data estimate multiplies the "
        f"network's error by {abar**-0.5 if abar > 0 else float('inf'):.0e} there and the "
        "samples blow up (docs/benchmarks.md#diffusion-against-step-count). Use "
        "timestep_spacing=leading with ddim or ddpm for this model "
        "(model.sampler.scheduler_options={timestep_spacing: leading}), or train with "
        "model.path.prediction_type=v_prediction."
    )
