"""Any vector or tensor problem from one ``.npz`` or ``.pt`` file of arrays ``x`` and ``cond``
(or from tensors in memory, as :class:`flowdiff.sbi.PosteriorEstimator` passes them).

For example simulation-based inference: simulator parameters ``x`` ``(N, dim_obs[, ch_obs])``
given observations ``cond`` ``(N, dim_cond[, ch_cond])``, in the ``(batch, dim, channels)``
convention; or class-conditional data with integer labels ``cond`` ``(N,)``.
"""

from __future__ import annotations

import pickle
import re
import zipfile
import zlib
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from flowdiff.data.in_memory import InMemoryDataModule
from flowdiff.errors import DataError


def read_arrays(file: str | Path | None, keys: list[str]) -> dict[str, Tensor]:
    """The arrays ``keys`` (``None`` entries skipped) of an ``.npz`` or ``.pt`` file.

    Raises:
        FileNotFoundError / ValueError / KeyError: naming the file and the key.
    """
    if file is None:
        raise ValueError("file=None: point it at an .npz or .pt file.")
    path = Path(file)
    if path.is_dir():
        raise DataError(f"file={str(path)!r} is a folder; point it at an .npz or .pt file in it.")
    if not path.is_file():
        raise FileNotFoundError(f"file={str(path)!r} does not exist.")
    try:
        if path.suffix == ".pt":
            stored = torch.load(path, map_location="cpu", weights_only=True)
            if not isinstance(stored, dict):
                raise ValueError(f"holds a {type(stored).__name__}, not a dict of tensors")
            arrays = {key: torch.as_tensor(value) for key, value in stored.items()}
        else:
            with np.load(path) as stored:
                arrays = {key: torch.from_numpy(np.asarray(stored[key])) for key in stored.files}
    except pickle.UnpicklingError as error:  # weights_only=True met a pickled Python object
        found = re.search(r"GLOBAL ([\w.]+)", str(error))
        what = f"a pickled {found.group(1)}" if found else "pickled Python objects"
        raise ValueError(
            f"file={str(path)!r} holds {what}, not only tensors; flowdiff does not unpickle "
            "data files (that can run code stored in them). Save a dict of tensors, e.g. "
            "torch.save({'x': x, 'cond': cond}, file), or numpy.savez."
        ) from error
    except (OSError, EOFError, RuntimeError, ValueError, zipfile.BadZipFile, zlib.error) as error:
        raise ValueError(f"{path}: not a readable .npz/.pt file of arrays ({error}).") from error
    wanted = [key for key in keys if key is not None]
    missing = [key for key in wanted if key not in arrays]
    if missing:
        raise KeyError(
            f"{path}: missing key(s) {missing}; it has {sorted(arrays)}. Set x_key= / "
            "cond_key= to the keys to use."
        )
    return {key: arrays[key] for key in wanted}


class ArraysDataModule(InMemoryDataModule):
    """Samples ``x`` and optional conditions ``cond`` from one file, or from tensors already in
    memory, kept in memory.

    Integer ``cond`` ``(N,)`` are class labels (set ``num_classes``); float ``cond`` are vectors
    (set ``cond_shape``), standardised with the training split's statistics by default.

    Args:
        file: ``.npz`` (``np.savez``) or ``.pt`` (``torch.save`` of a dict) file.
        x_key: key of the samples.
        cond_key: key of the conditions, or ``None``.
        x: samples ``(N, *shape)`` in memory, used instead of ``file`` (the Python API's path:
            nothing is written to disk).
        cond: their conditions ``(N, ...)`` when ``x`` is given, or ``None``.
        **kwargs: see :class:`~flowdiff.data.in_memory.InMemoryDataModule` (``shape`` required).
    """

    def __init__(
        self,
        file: str | None = None,
        x_key: str = "x",
        cond_key: str | None = "cond",
        x: Tensor | None = None,
        cond: Tensor | None = None,
        **kwargs,
    ):
        kwargs.setdefault("cond_normalization", "standard")
        super().__init__(**kwargs)
        if x is not None and file is not None:
            raise ValueError(f"Give either file={file!r} or tensors x=..., not both.")
        if x is None and cond is not None:
            raise ValueError("cond=... was given without x=...; give both tensors.")
        self.file, self.x_key, self.cond_key = file, x_key, cond_key
        self.tensors = None if x is None else (x, cond)

    def source(self) -> str:
        where = "tensors in memory" if self.tensors is not None else self.file
        return f"{type(self).__name__} ({where})"

    def _read(self) -> tuple[Tensor, Tensor | None]:
        if self.tensors is not None:
            return torch.as_tensor(self.tensors[0]), self.tensors[1]
        arrays = read_arrays(self.file, [self.x_key, self.cond_key])
        return arrays[self.x_key], arrays.get(self.cond_key)

    def load(self) -> tuple[Tensor, Tensor | None]:
        x, cond = self._read()
        x = x.float()
        cond = None if cond is None else torch.as_tensor(cond)
        where, cond_name = self.source(), repr(self.cond_key)
        if cond is not None and not cond.is_floating_point() and not self.num_classes:
            raise ValueError(
                f"{where}: {cond_name} holds integers; set num_classes=<count> for class "
                "labels, or store float vectors."
            )
        if cond is not None and cond.is_floating_point():
            cond = cond.float()
        if cond is not None and not torch.isfinite(cond.float()).all():
            raise ValueError(f"{where}: {cond_name} has inf/NaN values; clean them.")
        if not torch.isfinite(x).all():
            raise ValueError(f"{where}: {self.x_key!r} has inf/NaN values; clean them.")
        return x, cond
