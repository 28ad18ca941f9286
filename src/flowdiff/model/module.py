"""GenerativeModule: one LightningModule for flow matching and diffusion alike.

About 300 lines, over the house's ~250: the class is the library's main public surface
(training step, sampling with guidance and normalisation, checkpoint loading) and each method is
short; its helpers live beside it (``loss_window``, ``checkpoint_record``, ``guidance``,
``normalizer``, ``hub``) and in :mod:`flowdiff.optim.configure`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from lightning import LightningModule
from torch import Tensor, nn

from flowdiff.model.guidance import drop_mask, guided_model, takes_drop_cond
from flowdiff.model.hook_names import HookNameMixin
from flowdiff.model.hub import PretrainedMixin
from flowdiff.model.input_checks import (
    check_generate_args,
    check_guidance,
    check_parts,
    warn_nonfinite,
)
from flowdiff.model.loss_window import LossWindow
from flowdiff.model.normalizer import (
    NormalizationSource,
    Normalizer,
    on_data_grid,
    warn_clip_outside,
)
from flowdiff.model.option_checks import check_module_options
from flowdiff.model.saving import SaveLoadMixin
from flowdiff.optim.configure import OptimizerFactory, SchedulerFactory, configure_optimizers
from flowdiff.paths.base import PathSample, ProbabilityPath
from flowdiff.samplers.base import Sampler, SamplerOutput, check_compatible


class GenerativeModule(HookNameMixin, SaveLoadMixin, LightningModule, PretrainedMixin):
    """Trains ``network`` on ``path`` and samples with ``sampler``; the step never branches on
    the method. ``save(path)`` / ``GenerativeModule.load(path)`` write and read it as a
    checkpoint (``.ckpt``) or a Hugging Face model folder (:mod:`flowdiff.model.saving`).

    Args:
        network: ``forward(x_t, t, cond=None)`` returning a tensor like ``x_t``.
        path: a :class:`~flowdiff.paths.ProbabilityPath` (flow matching or diffusion).
        sampler: a :class:`~flowdiff.samplers.Sampler` serving the path's family.
        data_shape: shape of one sample, e.g. ``[2]`` or ``[1, 8, 8]``.
        optimizer: partial optimizer, completed with the parameter groups (Hydra
            ``_partial_: true``); only needed for training.
        lr_scheduler: partial ``(optimizer, total_steps) -> LRScheduler``, stepped every
            optimizer step; ``None`` keeps the learning rate constant.
        aux_loss_weight: weight of an extra MSE between the path's clean-data estimate
            (``path.predict_x1``) and the data.
        compile: ``torch.compile`` the network (in place, so checkpoint keys do not change).
        cond_drop_prob: classifier-free guidance training: each training sample's ``cond`` is
            replaced by the network's null condition with this probability.
        guidance_scale: default classifier-free guidance scale of :meth:`generate`; 1 is plain
            conditional sampling (see :mod:`flowdiff.model.guidance`).
        cond_shape: shape of one float condition (vector or image context), whose
            training-split normalisation the module keeps beside the data's; ``None`` for
            labels or unconditional data.
        clip_samples: clamp generated samples to the training data's range (its smallest and
            largest value, in the data's units; ``Normalizer.sample_range``), which real pixels
            never leave.
        sample_levels: round generated samples to this many evenly spaced values over the
            training data's range (after the clamp), the grid of quantised data: 256 for
            8-bit images, 17 for the digits' pixel values 0-16. ``None`` keeps them continuous.
    """

    def __init__(
        self,
        network: nn.Module,
        path: ProbabilityPath,
        sampler: Sampler,
        data_shape: Sequence[int],
        optimizer: OptimizerFactory | None = None,
        lr_scheduler: SchedulerFactory | None = None,
        aux_loss_weight: float = 0.0,
        compile: bool = False,
        cond_drop_prob: float = 0.0,
        guidance_scale: float = 1.0,
        cond_shape: Sequence[int] | None = None,
        clip_samples: bool = False,
        sample_levels: int | None = None,
    ):
        super().__init__()
        self.save_hyperparameters(
            ignore=["network", "path", "sampler", "optimizer", "lr_scheduler"]
        )
        check_parts(network, path, sampler, data_shape)
        check_module_options(
            aux_loss_weight=aux_loss_weight,
            cond_drop_prob=cond_drop_prob,
            guidance_scale=guidance_scale,
            sample_levels=sample_levels,
            optimizer=optimizer,
            lr_scheduler=lr_scheduler,
        )
        check_compatible(sampler, path)
        if aux_loss_weight < 0:
            raise ValueError(f"aux_loss_weight={aux_loss_weight} must be >= 0.")
        if sample_levels is not None and sample_levels < 2:
            raise ValueError(f"sample_levels={sample_levels} must be at least 2 (or None).")
        if not 0.0 <= cond_drop_prob < 1.0:
            raise ValueError(f"cond_drop_prob={cond_drop_prob} must lie in [0, 1).")
        if (cond_drop_prob > 0 or guidance_scale != 1.0) and not takes_drop_cond(network):
            raise ValueError(
                f"cond_drop_prob={cond_drop_prob} / guidance_scale={guidance_scale} "
                f"need a network whose forward takes drop_cond, and {type(network).__name__} "
                "does not; use a flowdiff network or set cond_drop_prob=0 and guidance_scale=1."
            )
        self.network = network
        self.path = path
        bind = getattr(path, "bind_network", None)
        if callable(bind):  # a path whose target needs the trained network (a mean flow's)
            bind(network)
        self.sampler = sampler
        self.optimizer_factory = optimizer
        self.lr_scheduler_factory = lr_scheduler
        self.data_shape = tuple(data_shape)
        self.normalizer = Normalizer(self.data_shape)
        self.cond_normalizer = Normalizer(tuple(cond_shape)) if cond_shape else None
        self._loss_window = LossWindow()

    # ------------------------------------------------------------------ training
    def setup(self, stage: str) -> None:
        """Take the datamodule's training-split normalisation when it is a
        :class:`~flowdiff.model.normalizer.NormalizationSource`; compile the network if asked."""
        if isinstance(self.trainer.datamodule, NormalizationSource):
            self.take_normalization(self.trainer.datamodule)
        if self.hparams.compile:
            self.network.compile()

    def take_normalization(self, source: NormalizationSource) -> None:
        """Copy the data's (and float conditions') normalisation from ``source``, so checkpoints
        carry it. :meth:`setup` does this for a datamodule that is a source; call it yourself
        when fitting with plain dataloaders whose data you normalised."""
        self.normalizer.load_state_dict(source.normalizer.state_dict())
        warn_clip_outside(self.normalizer, getattr(self.path, "hparams", {}).get("clip_sample"))
        if self.cond_normalizer is not None and source.cond_normalizer is not None:
            self.cond_normalizer.load_state_dict(source.cond_normalizer.state_dict())

    def forward(self, x_t: Tensor, t: Tensor, cond: Tensor | None = None) -> Tensor:
        return self.network(x_t, t, cond)

    def loss(self, output: Tensor, drawn: PathSample, x_1: Tensor) -> Tensor:
        """Weighted MSE against ``drawn.target`` (plus the auxiliary term), in fp32."""
        per_sample = (output.float() - drawn.target.float()).pow(2).flatten(1).mean(1)
        if drawn.weight is not None:
            per_sample = per_sample * drawn.weight.float()
        loss = per_sample.mean()
        if self.hparams.aux_loss_weight > 0:
            x1_hat = self.path.predict_x1(output.float(), drawn.x_t.float(), drawn.t)
            loss = loss + self.hparams.aux_loss_weight * (x1_hat - x_1.float()).pow(2).mean()
        return loss

    def _shared_step(self, batch: dict[str, Tensor], stage: str) -> Tensor:
        x_1 = batch["x"]
        cond = batch.get("cond")
        drawn = self.path.sample(x_1, cond)
        if stage == "train" and cond is not None and self.hparams.cond_drop_prob > 0:
            drop = drop_mask(x_1.shape[0], self.hparams.cond_drop_prob, x_1.device)
            output = self.network(drawn.x_t, drawn.t, cond, drop_cond=drop)
        else:
            output = self.network(drawn.x_t, drawn.t, cond)
        return self.loss(output, drawn, x_1)

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        loss = self._shared_step(batch, "train")
        self._loss_window.add(loss, batch["x"].shape[0])
        if self._loss_window.due(self.trainer):  # see LossWindow: not every step
            mean, count = self._loss_window.pop()
            # prog_bar=False: Lightning reads progress-bar metrics with .item() after every
            # batch (a GPU sync); flowdiff's TimedProgressBar shows train/loss when it redraws
            self.log(
                "train/loss", mean, on_step=True, on_epoch=True, prog_bar=False, batch_size=count
            )
        return loss

    def on_train_epoch_start(self) -> None:
        self._loss_window.reset()

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        # The same times and noise at every validation (seeded by the batch), so val/loss moves
        # only with the weights: early stopping and best-k checkpoints compare it across epochs.
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(batch_idx)
            loss = self._shared_step(batch, "val")
        self.log("val/loss", loss, prog_bar=True, sync_dist=True, batch_size=batch["x"].shape[0])
        return loss

    def configure_optimizers(self) -> Any:
        return configure_optimizers(
            self, self.optimizer_factory, self.lr_scheduler_factory, self.trainer
        )

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def generate(
        self,
        num_samples: int | None = None,
        cond: Tensor | None = None,
        sampler: Sampler | None = None,
        generator: torch.Generator | None = None,
        guidance_scale: float | None = None,
    ) -> SamplerOutput:
        """Draw samples in the data's own units, with the sampler's NFE and trajectory.

        Args:
            num_samples: how many samples; defaults to ``len(cond)``; 0 (or an empty ``cond``)
                gives an empty ``(0, *data_shape)`` result without calling the network.
            cond: conditions, one per sample, in the data's own units (labels ``(B,)``, vectors
                ``(B, D)`` or image context ``(B, C, H, W)``; float ones are normalised here as
                in training); ``None`` samples with the network's null condition.
            sampler: overrides the module's sampler for this call.
            generator: seeds the initial noise (and stochastic samplers).
            guidance_scale: classifier-free guidance scale; ``None`` uses the module's
                ``guidance_scale``. Scales other than 1 double the batch of each network call.

        Returns:
            :class:`~flowdiff.samplers.SamplerOutput` with ``x`` ``(B, *data_shape)``
            denormalised. Samples holding NaN/inf raise a
            :class:`~flowdiff.errors.NonFiniteSampleWarning` naming how many.

        Raises:
            InputTypeError: an argument of the wrong type or dtype (a ``TypeError``).
            InputValueError: a negative count, conditions of the wrong shape or range or
                holding NaN/inf, or a count that disagrees with ``cond`` (a ``ValueError``).
        """
        num_samples = check_generate_args(self, num_samples, cond, sampler, generator)
        scale = self.hparams.guidance_scale if guidance_scale is None else guidance_scale
        check_guidance(scale, self.network)
        if cond is not None:
            cond = self.normalize_cond(cond.to(self.device))
        sampler = sampler or self.sampler
        check_compatible(sampler, self.path)
        if num_samples == 0:  # nothing to draw: an empty batch, without calling the network
            return SamplerOutput(x=torch.empty(0, *self.data_shape, device=self.device), nfe=0)
        noise_device = generator.device if generator is not None else self.device
        x_init = torch.randn(
            (num_samples, *self.data_shape), generator=generator, device=noise_device
        ).to(self.device)
        model = guided_model(self.network, cond, scale)
        out = sampler.sample(model, self.path, x_init, generator=generator)
        trajectory = None if out.trajectory is None else self.normalizer.denormalize(out.trajectory)
        x = self.to_data_units(out.x)
        warn_nonfinite(x)
        return SamplerOutput(x=x, nfe=out.nfe, trajectory=trajectory)

    def to_data_units(self, x: Tensor) -> Tensor:
        """Samples ``x`` ``(B, *data_shape)`` from the network's units to the data's, clamped and
        rounded as ``clip_samples`` and ``sample_levels`` say; for real data that went through
        the normalisation, the grid also undoes its float error (a blank pixel is 0, not -5e-7)."""
        o, n = self.hparams, self.normalizer
        x = n.denormalize(x)
        return on_data_grid(x, o.get("clip_samples"), o.get("sample_levels"), *n.sample_range())

    def normalize_cond(self, cond: Tensor) -> Tensor:
        """Float conditions in the data's units to the network's (labels pass through)."""
        if self.cond_normalizer is None or not cond.is_floating_point():
            return cond
        return self.cond_normalizer.normalize(cond)

    def denormalize_cond(self, cond: Tensor | None) -> Tensor | None:
        """Conditions of a datamodule batch (normalised) back to the data's own units, as
        :meth:`generate` takes them."""
        if cond is None or self.cond_normalizer is None or not cond.is_floating_point():
            return cond
        return self.cond_normalizer.denormalize(cond.to(self.cond_normalizer.shift.device))

    def sample(
        self,
        num_samples: int | None = None,
        cond: Tensor | None = None,
        sampler: Sampler | None = None,
        generator: torch.Generator | None = None,
        guidance_scale: float | None = None,
    ) -> Tensor:
        """Samples ``(B, *data_shape)`` in the data's units; see :meth:`generate`."""
        return self.generate(num_samples, cond, sampler, generator, guidance_scale).x
