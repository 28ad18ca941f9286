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
from flowdiff.samplers.schedule_checks import check_sound, leading_grid_falls_short

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


@functools.cache
def zero_snr_schedulers() -> tuple[str, ...]:
    """The sampler types whose scheduler reads ``rescale_betas_zero_snr``."""
    names = [*SCHEDULERS, *compatible_schedulers()]
    return tuple(
        name
        for name in names
        if "rescale_betas_zero_snr" in inspect.signature(scheduler_class(name)[0]).parameters
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

    diffusers' multistep solvers (DPM-Solver, UniPC, DEIS) space a ``leading`` grid by
    ``T // (steps + 1)`` and so start short of the noisiest step (timestep 750 for 250 steps):
    they sample models that are not epsilon-prediction with ``linspace`` spacing instead
    (:meth:`inference_scheduler`); an epsilon model, which cannot start on the noisiest step,
    is refused a schedule that :func:`starts_short`.
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

    def build_scheduler(self, path: ProbabilityPath, **overrides: Any):
        """A fresh inference scheduler from the path's ``scheduler_config`` (then the sampler's
        ``scheduler_options``, then ``overrides``)."""
        config = {**path.scheduler_config, **self.scheduler_extra, **overrides}
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
        self.timed_scheduler(path)

    def inference_scheduler(self, path: ProbabilityPath):
        """A fresh scheduler for ``path``, spaced to start on the noisiest step where the model
        can: a scheduler whose leading grid falls short (:func:`leading_grid_falls_short`:
        DPM-Solver, UniPC, DEIS) gets ``linspace`` spacing for a model that is not
        epsilon-prediction, at every step count, unless ``scheduler_options`` sets a spacing.
        The digits judged on all samples: DPM-Solver++ x 20 C2ST 0.750 -> 0.715, x 250
        0.915 -> 0.708 (docs/benchmarks.md#diffusion-preset)."""
        scheduler = self.build_scheduler(path)
        epsilon = getattr(path, "prediction_type", None) == "epsilon"
        chosen = "timestep_spacing" in self.scheduler_extra  # the user's spacing stays
        if not (epsilon or chosen) and leading_grid_falls_short(scheduler):
            return self.build_scheduler(path, timestep_spacing="linspace")
        return scheduler

    def timed_scheduler(self, path: ProbabilityPath, device: torch.device | None = None):
        """:meth:`inference_scheduler` with its ``steps`` timesteps set, checked by
        :func:`check_sound`."""
        scheduler = self.inference_scheduler(path)
        scheduler.set_timesteps(self.steps, device=device)
        check_sound(self.sampler_type, scheduler, path, self.steps)
        return scheduler

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
        scheduler = self.timed_scheduler(path, device=x_init.device)
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
