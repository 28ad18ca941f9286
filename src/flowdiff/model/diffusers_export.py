"""Adapter to ``diffusers`` pipelines: a trained U-Net diffusion model as a diffusers pipeline.

The pipeline holds the model's own ``UNet2DModel`` (the weights now in the module) and a
scheduler built from the model's noise schedule, exactly as flowdiff's sampler builds it, so that
diffusers samples what flowdiff samples: for the same generator seed the two draw the same
initial noise and the same noise at every step (``tests/unit/model/test_hub.py``).

Any scheduler flowdiff samples with exports (``ddim``, ``dpmsolver++``, a diffusers class name,
see :func:`flowdiff.samplers.diffusers.scheduler_class`). ``DDPMPipeline`` drives those that
need no input scaling and take a ``generator`` (DDPM, DDIM, DPM-Solver, UniPC...), and is what
the export returns for them; the others (Euler, Heun, LMS, DEIS, PNDM...) get
:class:`ScaledDDPMPipeline`, the same pipeline with the two calls ``DDPMPipeline`` leaves out
(``init_noise_sigma``, ``scale_model_input``); load a saved one with
``ScaledDDPMPipeline.from_pretrained``.

Diffusers pipelines work in the network's units and return ``(x + 1) / 2`` clamped to
``[0, 1]``: for images that flowdiff range-normalised to ``[-1, 1]`` (``data.normalization=range``,
the npz images' default) that is the data's range mapped to ``[0, 1]``. The digits are
standardised per pixel (since issue 26): train with ``data.normalization=range`` to export them.

    pipeline = to_diffusers_pipeline(model, scheduler="dpmsolver++")
    pipeline.save_pretrained("exported")            # unet/, scheduler/, model_index.json
    images = DDPMPipeline.from_pretrained("exported")(batch_size=4, output_type="np").images
"""

from __future__ import annotations

import inspect

import torch
from diffusers import DDPMPipeline, ImagePipelineOutput
from diffusers.utils.torch_utils import randn_tensor

from flowdiff.errors import InputTypeError, InputValueError
from flowdiff.model.module import GenerativeModule
from flowdiff.networks.unet import UNet
from flowdiff.paths.diffusion import DiffusionPath
from flowdiff.samplers.diffusers import DiffusersSampler


class ScaledDDPMPipeline(DDPMPipeline):
    """``DDPMPipeline`` for every scheduler: scales the initial noise by ``init_noise_sigma``
    and the network's input by ``scale_model_input``, and passes ``generator`` only to a
    ``step`` that takes it. Images ``(B, C, H, W)`` in ``[0, 1]`` as ``DDPMPipeline``."""

    @torch.no_grad()
    def __call__(
        self,
        batch_size: int = 1,
        generator: torch.Generator | None = None,
        num_inference_steps: int = 1000,
        output_type: str = "pil",
        return_dict: bool = True,
    ):
        size = self.unet.config.sample_size
        size = (size, size) if isinstance(size, int) else tuple(size)
        shape = (batch_size, self.unet.config.in_channels, *size)
        device = self.unet.device
        image = randn_tensor(shape, generator=generator, device=device, dtype=self.unet.dtype)
        self.scheduler.set_timesteps(num_inference_steps)
        image = image * self.scheduler.init_noise_sigma
        takes = inspect.signature(self.scheduler.step).parameters
        extra = {"generator": generator} if "generator" in takes else {}
        for t in self.progress_bar(self.scheduler.timesteps):
            output = self.unet(self.scheduler.scale_model_input(image, t), t).sample
            image = self.scheduler.step(output, t, image, **extra).prev_sample
        image = (image / 2 + 0.5).clamp(0, 1)
        if output_type != "pt":
            image = image.cpu().permute(0, 2, 3, 1).numpy()
            if output_type == "pil":
                image = self.numpy_to_pil(image)
        self.maybe_free_model_hooks()
        return ImagePipelineOutput(images=image) if return_dict else (image,)


def ddpm_pipeline_drives(scheduler) -> bool:
    """Whether plain ``DDPMPipeline`` steps ``scheduler`` correctly: it never scales the noise
    or the network's input and always passes ``generator`` to ``step``."""
    scheduler.set_timesteps(4)
    probe = torch.ones(1, 1, 2, 2)
    unscaled = all(
        torch.equal(scheduler.scale_model_input(probe, t), probe) for t in scheduler.timesteps
    )
    takes = "generator" in inspect.signature(scheduler.step).parameters
    return unscaled and float(scheduler.init_noise_sigma) == 1.0 and takes


def to_diffusers_pipeline(
    model: GenerativeModule,
    scheduler: str = "ddpm",
    *,
    sampler_type: str | None = None,
    **scheduler_options,
) -> DDPMPipeline:
    """The model as a diffusers pipeline that samples without flowdiff.

    Args:
        model: a trained module whose network is an unconditional flowdiff
            :class:`~flowdiff.networks.UNet` on a :class:`~flowdiff.paths.DiffusionPath`.
        scheduler: any ``sampler_type`` of :class:`~flowdiff.samplers.DiffusersSampler`
            (``ddpm``, ``ddim`` at ``eta=0``, ``dpmsolver++``, ``UniPCMultistepScheduler``...).
        sampler_type: the former name of ``scheduler`` (still accepted).
        **scheduler_options: extra constructor arguments of the scheduler, as
            ``DiffusersSampler``'s ``scheduler_options`` (e.g. ``noise_sampler_seed=0`` for
            ``DPMSolverSDEScheduler``, which ignores the pipeline's generator).

    Returns:
        ``DDPMPipeline`` where it drives the scheduler, else :class:`ScaledDDPMPipeline`.

    Raises:
        InputTypeError: ``model`` is not a GenerativeModule, or ``scheduler`` not a string.
        InputValueError: (a ``ValueError``) another network or path, a conditional U-Net (the
            pipeline calls ``unet(x, t)`` alone), or a scheduler flowdiff cannot sample with.
    """
    name, scheduler = (
        ("scheduler", scheduler) if sampler_type is None else ("sampler_type", sampler_type)
    )
    if not isinstance(model, GenerativeModule):
        raise InputTypeError(
            f"model must be a GenerativeModule (e.g. GenerativeModule.load_from_checkpoint(...)), "
            f"not a {type(model).__name__}."
        )
    if not isinstance(scheduler, str):
        raise InputTypeError(
            f"{name}={scheduler!r} must be a string, 'ddpm' or 'ddim' or another sampler_type "
            f"of DiffusersSampler ('dpmsolver++', ...), not a {type(scheduler).__name__}."
        )
    network, path = model.network, model.path
    if not isinstance(path, DiffusionPath) or not isinstance(network, UNet):
        raise InputValueError(
            "to_diffusers_pipeline needs a U-Net on a diffusion path (model/network=unet, "
            f"model=diffusion); this model has {type(network).__name__} on "
            f"{type(path).__name__}. Save it with save_pretrained instead."
        )
    settings = network.hparams
    if settings.num_classes or settings.cond_shape or settings.add_coord_grid:
        raise InputValueError(
            "to_diffusers_pipeline needs an unconditional U-Net: DDPMPipeline calls unet(x, t) "
            "without labels or context, and this one takes "
            f"num_classes={settings.num_classes}, cond_shape={settings.cond_shape}, "
            f"add_coord_grid={settings.add_coord_grid}."
        )
    sampler = DiffusersSampler(scheduler, scheduler_options=scheduler_options)
    built = sampler.inference_scheduler(path)
    pipeline = DDPMPipeline if ddpm_pipeline_drives(built) else ScaledDDPMPipeline
    return pipeline(unet=network.unet, scheduler=built)
