"""A LightningDataModule for datasets that fit in memory, served a whole batch at a time."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from lightning import LightningDataModule
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from flowdiff.data.finite import handle_nonfinite
from flowdiff.data.normalizer import Normalizer


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
    labels, ``(N, D)`` vectors, or ``None``). Batches are dicts ``{"x": ..., "cond": ...}``.

    Args:
        shape: expected shape of one sample; checked against the loaded data.
        num_classes: number of classes of label conditions (0 when ``cond`` is not labels).
        batch_size: samples per batch (per device under DDP).
        val_fraction: share of samples held out for validation.
        seed: seed of the train/val split.
        normalization: ``standard``, ``range`` or ``none`` (see :class:`Normalizer`).
        num_workers: DataLoader workers; 0 is fastest for in-memory data.
        nonfinite: NaN/inf in the data: ``refuse``, ``drop`` or ``replace`` (see
            :func:`~flowdiff.data.finite.handle_nonfinite`).
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
    ):
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"batch_size={batch_size} must be at least 1.")
        if not 0.0 < val_fraction < 1.0:
            raise ValueError(f"data.val_fraction={val_fraction} must lie strictly in (0, 1).")
        self.shape = tuple(shape)
        self.num_classes = num_classes
        self.batch_size = batch_size
        self.val_fraction = val_fraction
        self.seed = seed
        self.normalization = normalization
        self.num_workers = num_workers
        self.nonfinite = nonfinite
        self.normalizer = Normalizer(self.shape)
        self.train_set: TensorBatches | None = None
        self.val_set: TensorBatches | None = None

    def load(self) -> tuple[Tensor, Tensor | None]:
        """Return all samples ``x`` and their conditions ``cond`` (or ``None``)."""
        raise NotImplementedError

    def _check(self, x: Tensor, cond: Tensor | None) -> None:
        if tuple(x.shape[1:]) != self.shape:
            raise ValueError(
                f"{type(self).__name__}: samples have shape {tuple(x.shape[1:])} but data.shape "
                f"is {list(self.shape)}; set data.shape to match the data."
            )
        if cond is not None and len(cond) != len(x):
            raise ValueError(f"{type(self).__name__}: {len(cond)} conditions for {len(x)} samples.")
        if self.num_classes and cond is not None and int(cond.max()) >= self.num_classes:
            raise ValueError(
                f"{type(self).__name__}: label {int(cond.max())} found but data.num_classes is "
                f"{self.num_classes}."
            )

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        x, cond = self.load()
        self._check(x, cond)
        x, cond = handle_nonfinite(x, cond, self.nonfinite, type(self).__name__)
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(self.seed))
        n_val = max(1, round(self.val_fraction * len(x)))
        val, train = order[:n_val], order[n_val:]
        self.normalizer.fit(x[train], self.normalization)
        x = self.normalizer.normalize(x.float())
        pick = (lambda idx: cond[idx]) if cond is not None else (lambda idx: None)
        self.train_set = TensorBatches(x[train], pick(train))
        self.val_set = TensorBatches(x[val], pick(val))

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
