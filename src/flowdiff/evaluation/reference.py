"""The real data a model is judged against: its run's training and held-out splits, in the
data's own units."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from lightning import LightningDataModule
from torch import Tensor

from flowdiff.checkpoints.loading import collect
from flowdiff.model.module import GenerativeModule


@dataclass
class Reference:
    """Real samples ``(N, *data_shape)`` in data units, with their conditions (or ``None``).

    Attributes:
        train_x: training split (fits the feature classifier; the real-vs-real floor).
        train_cond: its conditions.
        val_x: held-out split, what generated samples are compared with.
        val_cond: its conditions, which the generated samples are drawn with.
    """

    train_x: Tensor
    train_cond: Tensor | None
    val_x: Tensor
    val_cond: Tensor | None

    @property
    def is_image(self) -> bool:
        return self.val_x.dim() == 4

    @property
    def has_labels(self) -> bool:
        cond = self.val_cond
        return cond is not None and cond.dim() == 1 and not cond.is_floating_point()


def reference_from(
    datamodule: LightningDataModule, model: GenerativeModule, limit: int | None = 20_000
) -> Reference:
    """Collect a set-up datamodule's training and validation splits (at most ``limit`` of
    each), samples and conditions mapped back to data units by the model's normalisers."""
    with torch.random.fork_rng():
        torch.manual_seed(0)  # the training loader shuffles: the same subset on every call
        train_x, train_cond = collect(datamodule.train_dataloader(), limit)
    val_x, val_cond = collect(datamodule.val_dataloader(), limit)

    def data_units(x: Tensor) -> Tensor:
        return model.to_data_units(x.float().to(model.device)).cpu()

    def cond_units(cond: Tensor | None) -> Tensor | None:
        return None if cond is None else model.denormalize_cond(cond.to(model.device)).cpu()

    with torch.no_grad():
        return Reference(
            data_units(train_x), cond_units(train_cond), data_units(val_x), cond_units(val_cond)
        )


def generation_conditions(reference: Reference, count: int) -> Tensor | None:
    """Conditions ``(count, ...)`` for generated samples: the held-out conditions, cycled, so
    that generated and real samples share their distribution of conditions."""
    if reference.val_cond is None:
        return None
    repeats = -(-count // len(reference.val_cond))
    return reference.val_cond.repeat(repeats, *([1] * (reference.val_cond.dim() - 1)))[:count]
