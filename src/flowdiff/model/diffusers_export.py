"""Adapter to ``diffusers`` pipelines: a trained U-Net diffusion model as a ``DDPMPipeline``.

The pipeline holds the model's own ``UNet2DModel`` (the weights now in the module) and a
scheduler built from the model's noise schedule, exactly as flowdiff's sampler builds it, so that
diffusers samples what flowdiff samples: for the same generator seed the two draw the same
initial noise and the same DDPM noise at every step (``tests/unit/model/test_hub.py``).

Diffusers pipelines work in the network's units and return ``(x + 1) / 2`` clamped to
``[0, 1]``: for images that flowdiff range-normalised to ``[-1, 1]`` (``data.normalization=range``,
the image default) that is the data's range mapped to ``[0, 1]``.

    pipeline = to_diffusers_pipeline(model, sampler_type="ddim")
    pipeline.save_pretrained("exported")            # unet/, scheduler/, model_index.json
    images = DDPMPipeline.from_pretrained("exported")(batch_size=4, output_type="np").images
"""

from __future__ import annotations

from diffusers import DDIMScheduler, DDPMPipeline, DDPMScheduler

from flowdiff.errors import InputTypeError, InputValueError
from flowdiff.model.module import GenerativeModule
from flowdiff.networks.unet import UNet
from flowdiff.paths.diffusion import DiffusionPath
from flowdiff.samplers.diffusers import DiffusersSampler

#: the schedulers ``DDPMPipeline`` drives correctly: it calls ``step(output, t, x, generator=)``
#: only, without ``scale_model_input`` or ``init_noise_sigma`` (which Euler, Heun... need)
PIPELINE_SCHEDULERS = (DDPMScheduler, DDIMScheduler)


def to_diffusers_pipeline(model: GenerativeModule, sampler_type: str = "ddpm") -> DDPMPipeline:
    """The model as a diffusers ``DDPMPipeline`` that samples without flowdiff.

    Args:
        model: a trained module whose network is an unconditional flowdiff
            :class:`~flowdiff.networks.UNet` on a :class:`~flowdiff.paths.DiffusionPath`.
        sampler_type: ``ddpm`` or ``ddim`` (also spelled ``DDPMScheduler``/``DDIMScheduler``):
            the scheduler the pipeline steps with (DDIM at ``eta=0``).

    Raises:
        InputTypeError: ``model`` is not a GenerativeModule, or ``sampler_type`` not a string.
        InputValueError: (a ``ValueError``) another network or path, a conditional U-Net (the
            pipeline calls ``unet(x, t)`` alone), or a scheduler ``DDPMPipeline`` cannot drive.
    """
    if not isinstance(model, GenerativeModule):
        raise InputTypeError(
            f"model must be a GenerativeModule (e.g. GenerativeModule.load_from_checkpoint(...)), "
            f"not a {type(model).__name__}."
        )
    if not isinstance(sampler_type, str):
        raise InputTypeError(
            f"sampler_type={sampler_type!r} must be a string, 'ddpm' or 'ddim', not a "
            f"{type(sampler_type).__name__}."
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
    scheduler = DiffusersSampler(sampler_type).build_scheduler(path)
    if not isinstance(scheduler, PIPELINE_SCHEDULERS):
        raise InputValueError(
            f"sampler_type={sampler_type!r}: DDPMPipeline can only drive ddpm or ddim (it never "
            f"calls scale_model_input); sample {type(scheduler).__name__} with flowdiff."
        )
    return DDPMPipeline(unet=network.unet, scheduler=scheduler)
