"""A LightningDataModule for datasets that fit in memory, served a whole batch at a time."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from lightning import LightningDataModule
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from flowdiff.data.bounds import check_inside, parse_bounds
from flowdiff.data.finite import handle_nonfinite
from flowdiff.data.splits import check_fractions, split_indices
from flowdiff.model.normalizer import Normalizer


class TensorBatches(Dataset):
    """Samples ``x`` (and ``cond``) indexed a whole batch at a time.

    PyTorch's DataLoader calls ``__getitems__`` with all of a batch's indices, so one batch is
    one tensor gather instead of ``batch_size`` item fetches and a collate.
    """

    def __init__(self, x: Tensor, cond: Tensor | None = None):
        self.x = x
        self.cond = cond

    def __len__(self) -> int:
        return self.x.shape[0]

    def __getitems__(self, indices: Sequence[int]) -> dict[str, Tensor]:
        index = torch.as_tensor(indices, dtype=torch.long)
        batch = {"x": self.x[index]}
        if self.cond is not None:
            batch["cond"] = self.cond[index]
        return batch

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        return {key: value[0] for key, value in self.__getitems__([i]).items()}


def _whole_batch(batch: dict[str, Tensor]) -> dict[str, Tensor]:
    """The collate function for :class:`TensorBatches`: batches arrive already stacked."""
    return batch


class InMemoryDataModule(LightningDataModule):
    """Loads arrays once, splits them by seed, normalises with training-split statistics.

    Subclasses implement :meth:`load` returning ``x`` ``(N, *shape)`` and ``cond`` (``(N,)``
    labels, ``(N, *cond_shape)`` vectors or image context, or ``None``). Batches are dicts
    ``{"x": ..., "cond": ...}``. Float conditions are normalised too (``cond_normalization``),
    with their own training-split statistics in :attr:`cond_normalizer`; give
    ``cond_normalizer.normalize(raw)`` to :meth:`GenerativeModule.sample`. A
    :class:`~flowdiff.model.normalizer.NormalizationSource`: the module takes both normalisers
    over when fitting starts.

    Args:
        shape: expected shape of one sample; checked against the loaded data.
        num_classes: number of classes of label conditions (0 when ``cond`` is not labels).
        batch_size: samples per batch (per device under DDP).
        val_fraction: share of samples held out for validation.
        seed: seed of the train/val/test split.
        normalization: ``standard``, ``range`` or ``none`` (see :class:`Normalizer`).
        num_workers: DataLoader workers; 0 is fastest for in-memory data.
        nonfinite: NaN/inf in the data: ``refuse``, ``drop`` or ``replace`` (see
            :func:`~flowdiff.data.finite.handle_nonfinite`).
        test_fraction: share of samples held out for testing (``test_dataloader``).
        cond_shape: expected shape of one float condition; checked against the loaded data.
        cond_normalization: ``standard``, ``range`` or ``none`` for float conditions.
        bounds: ``[low, high]`` of a box the samples lie in (numbers or lists shaped like one
            sample; see :func:`~flowdiff.data.bounds.parse_bounds`): those features are learned
            through a logit and drawn strictly inside; samples outside are refused.
    """

    def __init__(
        self,
        shape: Sequence[int],
        num_classes: int = 0,
        batch_size: int = 128,
        val_fraction: float = 0.2,
        seed: int = 0,
        normalization: str = "standard",
        num_workers: int = 0,
        nonfinite: str = "refuse",
        test_fraction: float = 0.0,
        cond_shape: Sequence[int] | None = None,
        cond_normalization: str = "none",
        bounds: Sequence | None = None,
    ):
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"batch_size={batch_size} must be at least 1.")
        check_fractions(val_fraction, test_fraction)
        self.test_fraction = test_fraction
        self.cond_shape = tuple(cond_shape) if cond_shape else None
        self.cond_normalization = cond_normalization
        self.cond_normalizer = Normalizer(self.cond_shape) if self.cond_shape else None
        self.test_set: TensorBatches | None = None
        self.shape = tuple(shape)
        self.num_classes = num_classes
        self.batch_size = batch_size
        self.val_fraction = val_fraction
        self.seed = seed
        self.normalization = normalization
        self.num_workers = num_workers
        self.nonfinite = nonfinite
        self.normalizer = Normalizer(self.shape)
        self.bounds = None if bounds is None else parse_bounds(bounds, self.shape)
        if self.bounds is not None:
            self.normalizer.set_bounds(*self.bounds)
        self.train_set: TensorBatches | None = None
        self.val_set: TensorBatches | None = None

    def load(self) -> tuple[Tensor, Tensor | None]:
        """Return all samples ``x`` and their conditions ``cond`` (or ``None``)."""
        raise NotImplementedError

    def source(self) -> str:
        """What the data comes from, for messages (a file or folder in subclasses)."""
        return type(self).__name__

    def _check(self, x: Tensor, cond: Tensor | None) -> None:
        if tuple(x.shape[1:]) != self.shape:
            raise ValueError(
                f"{self.source()}: samples have shape {list(x.shape[1:])} but shape="
                f"{list(self.shape)}; set shape={list(x.shape[1:])} to match the data."
            )
        if cond is not None and len(cond) != len(x):
            raise ValueError(f"{self.source()}: {len(cond)} conditions for {len(x)} samples.")
        if cond is not None and cond.is_floating_point() and self.cond_shape is None:
            raise ValueError(
                f"{self.source()}: the data has conditions of shape "
                f"{list(cond.shape[1:])} but cond_shape=None; set cond_shape="
                f"{list(cond.shape[1:])}."
            )
        if self.cond_shape and cond is None:
            raise ValueError(
                f"{self.source()}: cond_shape={list(self.cond_shape)} but the data has no "
                "conditions; set cond_shape=None or add them."
            )
        if self.cond_shape and tuple(cond.shape[1:]) != self.cond_shape:
            raise ValueError(
                f"{self.source()}: conditions have shape {list(cond.shape[1:])} but cond_shape="
                f"{list(self.cond_shape)}; set cond_shape={list(cond.shape[1:])} to match."
            )
        if self.num_classes and cond is not None and int(cond.max()) >= self.num_classes:
            raise ValueError(
                f"{self.source()}: label {int(cond.max())} found but num_classes="
                f"{self.num_classes}; labels must lie in [0, num_classes)."
            )

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        x, cond = self.load()
        self._check(x, cond)
        x, cond = handle_nonfinite(x, cond, self.nonfinite, type(self).__name__)
        if self.bounds is not None:
            check_inside(x, *self.bounds, self.source())
        split = split_indices(len(x), self.val_fraction, self.test_fraction, self.seed)
        self.normalizer.fit(x[split.train], self.normalization)
        x = self.normalizer.normalize(x.float())
        if self.cond_normalizer is not None and cond is not None:
            self.cond_normalizer.fit(cond[split.train], self.cond_normalization)
            cond = self.cond_normalizer.normalize(cond.float())
        pick = (lambda idx: cond[idx]) if cond is not None else (lambda idx: None)
        self.train_set = TensorBatches(x[split.train], pick(split.train))
        self.val_set = TensorBatches(x[split.val], pick(split.val))
        self.test_set = TensorBatches(x[split.test], pick(split.test))

    def _loader(self, dataset: TensorBatches, shuffle: bool) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            drop_last=shuffle and len(dataset) > self.batch_size,
            num_workers=self.num_workers,
            collate_fn=_whole_batch,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        if not self.test_set:
            raise ValueError("test_fraction=0: there is no test split; set it > 0.")
        return self._loader(self.test_set, shuffle=False)
