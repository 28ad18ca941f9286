"""Events in one HDF5 file (the detector-events layout), read lazily a batch at a time.

The file holds a target dataset (e.g. ``input`` ``(N, 2, 5160)``: per-sensor charge and time), an
optional vector condition (e.g. ``label`` ``(N, 6)``) and optional geometry arrays (e.g. ``xpmt``
``(5160,)``). Nothing but the geometry is loaded whole: samples are read one batch per call, so a
file larger than memory trains, and the file is opened in SWMR read mode when it allows it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np
import torch
from lightning import LightningDataModule
from torch import Tensor
from torch.utils.data import DataLoader

from flowdiff.data.hdf5_batches import HDF5Batches, Preprocess, open_hdf5, streaming_stats
from flowdiff.data.in_memory import _whole_batch
from flowdiff.data.splits import check_fractions, split_indices
from flowdiff.model.normalizer import Normalizer

log = logging.getLogger(__name__)


def check_not_truncated(path: Path) -> None:
    """SWMR read mode skips HDF5's end-of-file check (a writer may be growing the file), so
    open once without it; a truncated file fails there. Other refusals (a writer's lock) pass."""
    try:
        h5py.File(path, "r").close()
    except OSError as error:
        if "truncated" in str(error):
            raise ValueError(f"{path}: not a readable HDF5 file ({error}).") from error


def inspect_file(file: str | Path, x_key: str, cond_key: str | None, geometry_keys) -> dict:
    """Validate the file up front: it opens, has the keys, and their lengths agree.

    Returns:
        ``{"count", "x_shape", "cond_shape", "geometry"}`` (geometry arrays loaded).
    """
    path = Path(file) if file else None
    if path is None or not path.is_file():
        raise FileNotFoundError(f"file={file!r} does not exist; point it at an .h5 file.")
    check_not_truncated(path)
    try:
        handle = open_hdf5(path)
    except OSError as error:
        raise ValueError(f"{path}: not a readable HDF5 file ({error}).") from error
    with handle:
        wanted = [("x_key", x_key), ("cond_key", cond_key)]
        wanted += [("geometry_keys", key) for key in geometry_keys]
        for setting, key in wanted:
            if key is not None and key not in handle:
                raise KeyError(f"{path}: no dataset {key!r} ({setting}); it has {list(handle)}.")
        x = handle[x_key]
        info = {"count": x.shape[0], "x_shape": tuple(x.shape[1:]), "cond_shape": None}
        if cond_key is not None:
            cond = handle[cond_key]
            if cond.shape[0] != x.shape[0]:
                raise ValueError(
                    f"{path}: {cond_key!r} has {cond.shape[0]} rows but {x_key!r} has "
                    f"{x.shape[0]}; they must hold one condition per sample."
                )
            info["cond_shape"] = tuple(cond.shape[1:])
        info["geometry"] = {key: np.asarray(handle[key][()], np.float32) for key in geometry_keys}
    for key, array in info["geometry"].items():
        if array.shape[-1] != info["x_shape"][-1]:
            raise ValueError(
                f"{path}: geometry {key!r} has shape {list(array.shape)}; its last axis must "
                f"match {x_key!r}'s {info['x_shape'][-1]} sensors."
            )
    return info


class HDF5DataModule(LightningDataModule):
    """Samples ``x`` ``(N, *shape)`` and optional vector conditions from one HDF5 file.

    Preprocessing, per batch: inf/NaN replaced by ``nonfinite_value``, ``log1p`` on
    ``log1p_channels`` of ``x`` (``log1p(max(v, 0))``), then per-channel standardisation of ``x``
    and per-feature standardisation of ``cond``, with statistics streamed over the training
    split in chunks of ``chunk_size`` samples. The number of non-finite values replaced in the
    training split is logged and kept in :attr:`nonfinite_count`. A
    :class:`~flowdiff.model.normalizer.NormalizationSource`, like the in-memory datamodules.

    Args:
        file: path of the ``.h5`` file.
        shape: expected shape of one sample, e.g. ``[2, 5160]``.
        x_key: dataset of the samples.
        cond_key: dataset of the vector conditions, or ``None``.
        cond_shape: expected shape of one condition, e.g. ``[6]`` (``None`` without cond).
        geometry_keys: per-sensor arrays (e.g. ``[xpmt, ypmt, zpmt]``), read once and kept in
            :attr:`geometry` ``(G, n_sensors)``.
        log1p_channels: channels of ``x`` (axis 1) to compress with ``log1p``.
        nonfinite_value: replacement for inf/NaN.
        normalization: ``standard`` (per channel) or ``none``.
        num_classes: must be 0 (HDF5 conditions are vectors).
        batch_size, val_fraction, test_fraction, seed, num_workers: as for in-memory data.
        chunk_size: samples per read while computing statistics.
    """

    def __init__(
        self,
        file: str | None = None,
        shape: Sequence[int] = (2, 5160),
        x_key: str = "input",
        cond_key: str | None = "label",
        cond_shape: Sequence[int] | None = (6,),
        geometry_keys: Sequence[str] = (),
        log1p_channels: Sequence[int] = (),
        nonfinite_value: float = 0.0,
        normalization: str = "standard",
        num_classes: int = 0,
        batch_size: int = 64,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        seed: int = 0,
        num_workers: int = 0,
        chunk_size: int = 1024,
    ):
        super().__init__()
        check_fractions(val_fraction, test_fraction)
        if normalization not in ("standard", "none"):
            raise ValueError(f"normalization={normalization!r}; choose standard or none.")
        if num_classes:
            raise ValueError(f"num_classes={num_classes} must be 0: HDF5 conditions are vectors.")
        self.file, self.shape, self.x_key, self.cond_key = file, tuple(shape), x_key, cond_key
        self.cond_shape = tuple(cond_shape) if cond_shape else None
        self.geometry_keys = tuple(geometry_keys)
        self.preprocess = Preprocess(tuple(log1p_channels), nonfinite_value)
        self.normalization, self.num_classes = normalization, num_classes
        self.batch_size, self.val_fraction, self.test_fraction = (
            batch_size,
            val_fraction,
            test_fraction,
        )
        self.seed, self.num_workers, self.chunk_size = seed, num_workers, chunk_size
        self.normalizer = Normalizer(self.shape)
        self.cond_normalizer = Normalizer(self.cond_shape) if self.cond_shape else None
        self.geometry: Tensor | None = None
        self.nonfinite_count: int | None = None
        self.splits = None

    def _check(self, info: dict) -> None:
        if info["x_shape"] != self.shape:
            raise ValueError(
                f"{self.file}: {self.x_key!r} samples have shape {list(info['x_shape'])} but "
                f"shape={list(self.shape)}; set shape={list(info['x_shape'])} to match."
            )
        if info["cond_shape"] != self.cond_shape:
            raise ValueError(
                f"{self.file}: {self.cond_key!r} conditions have shape {info['cond_shape']} but "
                f"cond_shape={self.cond_shape}; set cond_shape={info['cond_shape']} to match."
            )
        bad = [c for c in self.preprocess.log1p_channels if not 0 <= c < self.shape[0]]
        if bad:
            raise ValueError(
                f"log1p_channels={list(self.preprocess.log1p_channels)}: {bad} are not channels "
                f"of shape={list(self.shape)}."
            )

    def setup(self, stage: str | None = None) -> None:
        if self.splits is not None:
            return
        info = inspect_file(self.file, self.x_key, self.cond_key, self.geometry_keys)
        self._check(info)
        if self.geometry_keys:
            self.geometry = torch.as_tensor(np.stack(list(info["geometry"].values())))
        self.splits = split_indices(info["count"], self.val_fraction, self.test_fraction, self.seed)
        with open_hdf5(self.file) as handle:
            stats = streaming_stats(
                handle,
                self.x_key,
                self.cond_key,
                self.splits.train,
                self.preprocess,
                self.chunk_size,
            )
        self.nonfinite_count = stats.nonfinite
        log.info(
            "%s: replaced %d non-finite values in the training split by %s",
            self.file,
            stats.nonfinite,
            self.preprocess.nonfinite_value,
        )
        if self.normalization == "standard":
            self.normalizer.shift.copy_(stats.x_mean.reshape(-1, *[1] * (len(self.shape) - 1)))
            self.normalizer.scale.copy_(stats.x_std.reshape(-1, *[1] * (len(self.shape) - 1)))
        if self.cond_normalizer is not None:
            self.cond_normalizer.shift.copy_(stats.cond_mean.reshape(self.cond_shape))
            self.cond_normalizer.scale.copy_(stats.cond_std.reshape(self.cond_shape))

    def dataset(self, indices: Tensor) -> HDF5Batches:
        """A lazy dataset over the samples ``indices`` of the file."""
        return HDF5Batches(
            self.file,
            self.x_key,
            self.cond_key,
            indices,
            self.preprocess,
            self.normalizer,
            self.cond_normalizer,
        )

    def _loader(self, indices: Tensor, shuffle: bool) -> DataLoader:
        return DataLoader(
            self.dataset(indices),
            batch_size=self.batch_size,
            shuffle=shuffle,
            drop_last=shuffle and len(indices) > self.batch_size,
            num_workers=self.num_workers,
            collate_fn=_whole_batch,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.splits.train, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.splits.val, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        if len(self.splits.test) == 0:
            raise ValueError("test_fraction=0: there is no test split; set it > 0.")
        return self._loader(self.splits.test, shuffle=False)
