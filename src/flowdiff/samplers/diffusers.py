"""Adapter over HuggingFace ``diffusers`` schedulers used for inference: DDIM, DDPM, DPM-Solver,
UniPC, Euler, Heun, ... any scheduler diffusers lists as compatible with ``DDPMScheduler``.

Inference mutates a diffusers scheduler (``set_timesteps``, step counters), so every call builds a
fresh scheduler from the path's training config; the path's own scheduler is never touched.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import diffusers
import torch
from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler
from torch import Tensor

from flowdiff.components import Component
from flowdiff.errors import ConfigError, warn_renamed
from flowdiff.paths.base import ProbabilityPath
from flowdiff.samplers.base import CountingModel, ModelFn, SamplerOutput, check_steps

#: short sampler_type names -> (diffusers scheduler class, config it adds to the path's schedule)
SCHEDULERS: dict[str, tuple[type, dict[str, Any]]] = {
    "ddim": (DDIMScheduler, {}),
    "ddpm": (DDPMScheduler, {}),
    "dpmsolver++": (DPMSolverMultistepScheduler, {"algorithm_type": "dpmsolver++"}),
    # diffusers refuses its default final_sigmas_type="zero" for first-order-style dpmsolver.
    "dpmsolver": (
        DPMSolverMultistepScheduler,
        {"algorithm_type": "dpmsolver", "final_sigmas_type": "sigma_min"},
    ),
}


@functools.cache
def compatible_schedulers() -> tuple[str, ...]:
    """Class names of the diffusers schedulers that can sample a network trained on a
    ``DDPMScheduler`` noise schedule: those diffusers lists as compatible with it
    (``DDPMScheduler().compatibles``) whose constructor reads that schedule (``beta_schedule``).

    That leaves out ``EDMEulerScheduler``, which has its own sigma schedule and time convention,
    and any scheduler whose optional dependency is missing (diffusers then gives a placeholder).
    """
    names = [
        cls.__name__
        for cls in DDPMScheduler().compatibles
        if "beta_schedule" in inspect.signature(cls.__init__).parameters
    ]
    return tuple(sorted(names))


def scheduler_class(sampler_type: str) -> tuple[type, dict[str, Any]]:
    """The diffusers scheduler class a ``sampler_type`` names, with the config it adds.

    Raises:
        ValueError: neither a short name of :data:`SCHEDULERS` nor a compatible diffusers
            scheduler; the message lists both.
    """
    if sampler_type in SCHEDULERS:
        return SCHEDULERS[sampler_type]
    if sampler_type in compatible_schedulers():
        return getattr(diffusers, sampler_type), {}
    raise ValueError(
        f"sampler_type={sampler_type!r}; choose one of {sorted(SCHEDULERS)} or a "
        "diffusers scheduler compatible with DDPM training: "
        f"{', '.join(compatible_schedulers())}."
    )


#: refuse a first step where an epsilon network's error is multiplied by more than this
#: (``1 / sqrt(alphas_cumprod)``): at 2e4 samples blew up (W2 ~790 on toy 2-D), at 214x (leading
#: spacing's first of 250 steps) they still sampled (docs/benchmarks.md, diffusion against step
#: count)
MAX_AMPLIFICATION = 1e3


@functools.cache
def zero_snr_schedulers() -> tuple[str, ...]:
    """The sampler types whose scheduler reads ``rescale_betas_zero_snr``."""
    names = [*SCHEDULERS, *compatible_schedulers()]
    return tuple(
        name
        for name in names
        if "rescale_betas_zero_snr" in inspect.signature(scheduler_class(name)[0]).parameters
    )


def check_sound(sampler_type: str, scheduler, path: ProbabilityPath) -> None:
    """Refuse an epsilon model whose first inference step amplifies the network's error beyond
    :data:`MAX_AMPLIFICATION` (its samples would blow up), naming the step and the fix."""
    if getattr(path, "prediction_type", None) != "epsilon":
        return
    first = int(float(scheduler.timesteps[0]))
    abar = float(path.scheduler.alphas_cumprod[min(first, len(path.scheduler.alphas_cumprod) - 1)])
    if abar > 0 and abar**-0.5 <= MAX_AMPLIFICATION:
        return
    raise ConfigError(
        f"sampler_type={sampler_type!r} starts at timestep {first}, where alphas_cumprod is "
        f"{abar:.1e}: this epsilon-prediction model's clean-data estimate multiplies the "
        f"network's error by {abar**-0.5 if abar > 0 else float('inf'):.0e} there and the "
        "samples blow up (docs/benchmarks.md#diffusion-against-step-count). Use "
        "timestep_spacing=leading with ddim, ddpm or dpmsolver++ for this model "
        "(model.sampler.scheduler_options={timestep_spacing: leading}), or train with "
        "model.path.prediction_type=v_prediction."
    )


class DiffusersSampler(Component):
    """Reverse diffusion with a diffusers scheduler built from the path's noise schedule.

    Args:
        sampler_type: ``ddim`` (deterministic at ``eta=0``), ``ddpm`` (stochastic),
            ``dpmsolver++`` or ``dpmsolver`` (multistep, good at 10-25 steps), or the class name
            of any diffusers scheduler compatible with DDPM training
            (:func:`compatible_schedulers`: ``UniPCMultistepScheduler``,
            ``EulerDiscreteScheduler``, ``HeunDiscreteScheduler``,
            ``DPMSolverSinglestepScheduler``...).
        steps: number of denoising steps (one network call each; two for Heun and KDPM2 after
            the first); diffusers' ``num_inference_steps``.
        eta: DDIM's noise level: 0 is deterministic DDIM, 1 behaves like DDPM. DDIM only.
        return_trajectory: keep the state after every step.
        scheduler_options: extra constructor arguments of the scheduler, e.g.
            ``{"use_karras_sigmas": true}`` or ``{"solver_order": 3}``.
        num_inference_steps: deprecated spelling of ``steps`` (a warning says so).

    Refused (:func:`check_sound`, with the reason and what to use): a first step where an
    epsilon network's clean-data estimate multiplies its error by more than
    :data:`MAX_AMPLIFICATION` (the noisiest cosine step, ``alphas_cumprod`` ~2e-9: ~2e4; reached by
    ``DPMSolverSinglestepScheduler``, which ignores ``timestep_spacing``, and by ``trailing``
    spacing), and a zero-terminal-SNR path with a scheduler that cannot read that schedule.
    Models trained with ``v_prediction`` (the default since issue 24) have no such step.
    """

    family = "diffusion"

    def __init__(
        self,
        sampler_type: str = "ddim",
        steps: int = 50,
        eta: float = 0.0,
        return_trajectory: bool = False,
        scheduler_options: dict[str, Any] | None = None,
        num_inference_steps: int | None = None,
    ):
        if num_inference_steps is not None:
            warn_renamed("num_inference_steps", "steps")
            steps = num_inference_steps
        super().__init__()
        self.save_hyperparameters(ignore=["num_inference_steps"])
        self.scheduler_cls, extra = scheduler_class(sampler_type)
        self.scheduler_extra = {**extra, **(scheduler_options or {})}
        check_steps(steps)
        self.sampler_type = sampler_type
        self.steps = steps
        self.eta = eta
        self.return_trajectory = return_trajectory

    def build_scheduler(self, path: ProbabilityPath):
        """A fresh inference scheduler from the path's ``scheduler_config``."""
        config = {**path.scheduler_config, **self.scheduler_extra}
        takes = inspect.signature(self.scheduler_cls.__init__).parameters
        if config.get("rescale_betas_zero_snr") and "rescale_betas_zero_snr" not in takes:
            raise ConfigError(
                f"sampler_type={self.sampler_type!r} cannot sample this model: its path has "
                "rescale_betas_zero_snr=true, a schedule this scheduler does not read (it "
                f"would sample another one). Use one that does: {', '.join(zero_snr_schedulers())}."
            )
        return self.scheduler_cls.from_config(config)

    def check_path(self, path: ProbabilityPath) -> None:
        """Refuse, before any training or sampling, a path this sampler cannot sample soundly
        (:func:`check_sound` and :meth:`build_scheduler`'s checks)."""
        scheduler = self.build_scheduler(path)
        scheduler.set_timesteps(self.steps)
        check_sound(self.sampler_type, scheduler, path)

    def _step_kwargs(self, scheduler, generator: torch.Generator | None) -> dict[str, Any]:
        accepted = inspect.signature(scheduler.step).parameters
        offered = {"eta": self.eta, "generator": generator}
        return {key: value for key, value in offered.items() if key in accepted}

    def sample(
        self,
        model: ModelFn,
        path: ProbabilityPath,
        x_init: Tensor,
        generator: torch.Generator | None = None,
    ) -> SamplerOutput:
        """Denoise ``x_init`` (``(B, ...)``, unit Gaussian) over the scheduler's timesteps."""
        scheduler = self.build_scheduler(path)
        scheduler.set_timesteps(self.steps, device=x_init.device)
        check_sound(self.sampler_type, scheduler, path)
        counted = CountingModel(model)
        step_kwargs = self._step_kwargs(scheduler, generator)
        x = x_init * scheduler.init_noise_sigma
        states = [x] if self.return_trajectory else None
        for t in scheduler.timesteps:
            output = counted(scheduler.scale_model_input(x, t), t)
            x = scheduler.step(output, t, x, **step_kwargs).prev_sample
            if states is not None:
                states.append(x)
        trajectory = torch.stack(states) if states is not None else None
        return SamplerOutput(x=x, nfe=counted.nfe, trajectory=trajectory)
