"""Adapter over HuggingFace ``diffusers`` noise schedulers: DDPM-style diffusion.

Convention (the library's): integer timesteps ``t`` in ``[0, num_train_timesteps)``, data at
``t = 0``; ``x_t = sqrt(abar_t) x_1 + sqrt(1 - abar_t) eps`` where ``abar`` is the scheduler's
``alphas_cumprod``. ``x_1`` names clean data as in every flowdiff path. The network predicts
``eps`` (``epsilon``), ``v = sqrt(abar_t) eps - sqrt(1 - abar_t) x_1`` (``v_prediction``) or
``x_1`` itself (``sample``).

The training scheduler here is only read (``add_noise``, ``alphas_cumprod``); samplers build their
own instance from :attr:`DiffusionPath.scheduler_config`, because inference mutates scheduler state.
"""

from __future__ import annotations

from typing import Any

import torch
from diffusers import DDPMScheduler
from torch import Tensor

from flowdiff.components import Component
from flowdiff.paths.base import PathSample

PREDICTION_TYPES = ("epsilon", "v_prediction", "sample")
BETA_SCHEDULES = ("linear", "scaled_linear", "squaredcos_cap_v2")


class DiffusionPath(Component):
    """Discrete-time diffusion whose noise schedule comes from ``diffusers.DDPMScheduler``.

    Args:
        num_train_timesteps: number of diffusion steps ``T``.
        beta_schedule: ``linear``, ``scaled_linear`` or ``squaredcos_cap_v2`` (cosine).
        prediction_type: ``v_prediction`` (the default since issue 24), ``epsilon`` or
            ``sample``. An epsilon network's clean-data estimate divides its error by
            ``sqrt(alphas_cumprod)`` (~5e-5 at the cosine schedule's noisiest step), so DDIM,
            Euler and Heun got worse with more steps; v's estimate
            ``sqrt(abar) x_t - sqrt(1 - abar) v`` never amplifies it (docs/benchmarks.md,
            diffusion against step count). Checkpoints keep the type they were trained with.
        beta_start: first beta of the linear schedules.
        beta_end: last beta of the linear schedules.
        clip_sample: clip the clean-data estimate to ``[-1, 1]`` inside DDIM's, DDPM's and
            Heun's steps (off by default; the config turned it on for images before issue 24).
            It contained an epsilon network's amplified error, but on the digits it made DDIM
            x 50 much worse (docs/benchmarks.md, the digits); wrong for standardised vectors.
        timestep_spacing: how samplers spread fewer inference steps (``leading``, the default,
            ``trailing``, ``linspace``). ``leading`` (diffusers' DDIM default) starts
            ``T / steps`` below the noisiest step; ``trailing`` starts on it, where the cosine
            schedule's ``sigma = sqrt((1 - abar) / abar)`` is ~2e4: an epsilon network's error
            is multiplied by that much (the samplers refuse it), and Heun's and KDPM2's
            second-order step from there is unstable even with an exact network.
        rescale_betas_zero_snr: rescale the betas so the noisiest step is pure noise
            (``alphas_cumprod[T-1] = 0``, Lin et al. 2024); needs ``v_prediction``, and only the
            schedulers that take diffusers' ``rescale_betas_zero_snr`` can sample it.
    """

    family = "diffusion"

    def __init__(
        self,
        num_train_timesteps: int = 1000,
        beta_schedule: str = "squaredcos_cap_v2",
        prediction_type: str = "v_prediction",
        beta_start: float = 1e-4,
        beta_end: float = 0.02,
        clip_sample: bool = False,
        timestep_spacing: str = "leading",
        rescale_betas_zero_snr: bool = False,
    ):
        super().__init__()
        self.save_hyperparameters()
        if prediction_type not in PREDICTION_TYPES:
            raise ValueError(
                f"prediction_type={prediction_type!r}; choose one of {PREDICTION_TYPES}."
            )
        if beta_schedule not in BETA_SCHEDULES:
            raise ValueError(f"beta_schedule={beta_schedule!r}; choose one of {BETA_SCHEDULES}.")
        if num_train_timesteps < 2:
            raise ValueError(f"num_train_timesteps={num_train_timesteps} must be >= 2.")
        self.scheduler = DDPMScheduler(
            num_train_timesteps=num_train_timesteps,
            beta_schedule=beta_schedule,
            prediction_type=prediction_type,
            beta_start=beta_start,
            beta_end=beta_end,
            clip_sample=clip_sample,
            timestep_spacing=timestep_spacing,
            rescale_betas_zero_snr=rescale_betas_zero_snr,
        )
        self.prediction_type = prediction_type
        self.num_train_timesteps = num_train_timesteps

    @property
    def scheduler_config(self) -> dict[str, Any]:
        """The noise schedule's config, from which a sampler builds its own scheduler."""
        return dict(self.scheduler.config)

    def _abar(self, t: Tensor, like: Tensor) -> Tensor:
        """``alphas_cumprod[t]`` broadcast to the shape of ``like``."""
        abar = self.scheduler.alphas_cumprod.to(device=like.device)[t.long()]
        return abar.to(like.dtype).reshape(-1, *([1] * (like.dim() - 1)))

    def sample(self, x_1: Tensor, cond: Tensor | None = None) -> PathSample:
        """Draw ``t ~ U{0..T-1}`` and ``eps ~ N(0, I)`` (independent of ``x_1`` and ``cond``);
        the target follows ``prediction_type``."""
        t = torch.randint(0, self.num_train_timesteps, (x_1.shape[0],), device=x_1.device)
        noise = torch.randn_like(x_1)
        x_t = self.scheduler.add_noise(x_1, noise, t)
        if self.prediction_type == "epsilon":
            target = noise
        elif self.prediction_type == "v_prediction":
            target = self.scheduler.get_velocity(x_1, noise, t)
        else:
            target = x_1
        return PathSample(x_t=x_t, t=t.to(x_1.dtype), target=target)

    def predict_x1(self, output: Tensor, x_t: Tensor, t: Tensor) -> Tensor:
        """Clean-data estimate from the network's ``output`` at timesteps ``t``."""
        abar = self._abar(t, x_t)
        if self.prediction_type == "epsilon":
            return (x_t - (1 - abar).sqrt() * output) / abar.sqrt()
        if self.prediction_type == "v_prediction":
            return abar.sqrt() * x_t - (1 - abar).sqrt() * output
        return output
