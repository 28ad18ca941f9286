"""Lazy batch reads from an HDF5 file, their preprocessing, and streamed statistics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import h5py
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from flowdiff.model.normalizer import Normalizer


def open_hdf5(file) -> h5py.File:
    """Open ``file`` read-only, in SWMR mode when its format allows it (a writer may append)."""
    try:
        return h5py.File(file, "r", swmr=True, libver="latest")
    except (OSError, ValueError):
        return h5py.File(file, "r")


@dataclass(frozen=True)
class Preprocess:
    """inf/NaN -> ``nonfinite_value``, then ``log1p(max(v, 0))`` on ``log1p_channels`` (axis 1)."""

    log1p_channels: tuple[int, ...] = ()
    nonfinite_value: float = 0.0

    def x(self, x: np.ndarray) -> np.ndarray:
        """Samples ``(B, C, ...)`` as float32, cleaned and compressed."""
        x = self.finite(x)
        for channel in self.log1p_channels:
            x[:, channel] = np.log1p(np.maximum(x[:, channel], 0.0))
        return x

    def finite(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float32).copy()
        values[~np.isfinite(values)] = self.nonfinite_value
        return values


def read_rows(dataset: h5py.Dataset, rows: np.ndarray) -> np.ndarray:
    """``dataset[rows]`` for any order of distinct ``rows`` (h5py wants them increasing)."""
    order = np.argsort(rows)
    block = dataset[rows[order]]
    out = np.empty_like(block)
    out[order] = block
    return out


@dataclass
class Stats:
    """Training-split statistics: per-channel ``x`` mean/std, per-feature ``cond`` mean/std,
    and how many non-finite values were replaced."""

    x_mean: Tensor
    x_std: Tensor
    cond_mean: Tensor | None
    cond_std: Tensor | None
    nonfinite: int


def streaming_stats(
    handle: h5py.File,
    x_key: str,
    cond_key: str | None,
    indices: Tensor,
    preprocess: Preprocess,
    chunk_size: int,
) -> Stats:
    """Means and standard deviations over ``indices``, reading ``chunk_size`` samples at a time
    (sums in float64), so memory stays bounded by one chunk."""
    rows = np.sort(indices.numpy())
    x_sum = x_sq = c_sum = c_sq = 0.0
    nonfinite = 0
    for start in range(0, len(rows), chunk_size):
        chunk = rows[start : start + chunk_size]
        raw = handle[x_key][chunk]
        nonfinite += int((~np.isfinite(raw)).sum())
        x = preprocess.x(raw).astype(np.float64)
        axes = (0, *range(2, x.ndim))
        x_sum, x_sq = x_sum + x.sum(axes), x_sq + (x**2).sum(axes)
        if cond_key is not None:
            raw_cond = handle[cond_key][chunk]
            nonfinite += int((~np.isfinite(raw_cond)).sum())
            cond = preprocess.finite(raw_cond).astype(np.float64).reshape(len(chunk), -1)
            c_sum, c_sq = c_sum + cond.sum(0), c_sq + (cond**2).sum(0)
    per_channel = len(rows) * int(np.prod(handle[x_key].shape[2:]))

    def moments(total, squares, count):
        mean = total / count
        std = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
        return torch.as_tensor(mean).float(), torch.as_tensor(std).float().clamp_min(1e-6)

    x_mean, x_std = moments(x_sum, x_sq, per_channel)
    cond_mean = cond_std = None
    if cond_key is not None:
        cond_mean, cond_std = moments(c_sum, c_sq, len(rows))
    return Stats(x_mean, x_std, cond_mean, cond_std, nonfinite)


class HDF5Batches(Dataset):
    """The samples ``indices`` of an HDF5 file, read one whole batch per call.

    The file is opened on first use in each process (h5py handles cannot cross a fork), so
    DataLoader workers each hold their own handle.
    """

    def __init__(
        self,
        file: str,
        x_key: str,
        cond_key: str | None,
        indices: Tensor,
        preprocess: Preprocess,
        normalizer: Normalizer,
        cond_normalizer: Normalizer | None,
    ):
        self.file, self.x_key, self.cond_key = file, x_key, cond_key
        self.indices = indices.numpy()
        self.preprocess = preprocess
        self.normalizer, self.cond_normalizer = normalizer, cond_normalizer
        self._handle: h5py.File | None = None

    def __len__(self) -> int:
        return len(self.indices)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_handle": None}

    def _open(self) -> h5py.File:
        if self._handle is None:
            self._handle = open_hdf5(self.file)
        return self._handle

    def __getitems__(self, positions: Sequence[int]) -> dict[str, Tensor]:
        handle, rows = self._open(), self.indices[np.asarray(positions)]
        x = torch.from_numpy(self.preprocess.x(read_rows(handle[self.x_key], rows)))
        batch = {"x": self.normalizer.normalize(x)}
        if self.cond_key is not None:
            cond = torch.from_numpy(self.preprocess.finite(read_rows(handle[self.cond_key], rows)))
            batch["cond"] = self.cond_normalizer.normalize(cond)
        return batch

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        return {key: value[0] for key, value in self.__getitems__([i]).items()}
