"""Checkpoints written so that a crash at any moment leaves either the old file or the new one.

Lightning's :class:`~lightning.pytorch.plugins.io.TorchCheckpointIO` serialises into memory and
writes through an fsspec transaction, but never ``fsync``s: after a power loss or a killed node
the renamed file can still be empty. :class:`AtomicCheckpointIO` writes local checkpoints to a
temporary file in the same folder, ``fsync``s it, ``os.replace``s it over the target (atomic on
POSIX within one file system) and ``fsync``s the folder, so ``last.ckpt`` is never half-written.
It also loads with ``weights_only=True`` unless the run was told to trust its checkpoints.

The best-k and ``last.ckpt`` callbacks both save at the end of an epoch: the second save of the
same epoch and step into the same folder becomes a hard link to the first file (through a
temporary name and the same atomic rename) instead of serialising, writing and ``fsync``ing the
same state again. Where links are impossible it is written in full.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.utilities.cloud_io import get_filesystem
from lightning.pytorch.plugins.io import TorchCheckpointIO

from flowdiff.checkpoints.upgrade import upgrade

#: Prefix of the temporary files; a leftover one (from a kill mid-write) is safe to delete.
TEMP_PREFIX = ".flowdiff-tmp-"


def _fsync_folder(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (a no-op where folders cannot be opened)."""
    with contextlib.suppress(OSError):
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def _is_local(path: Any) -> bool:
    protocol = get_filesystem(path).protocol
    return "file" in (protocol if isinstance(protocol, tuple) else (protocol,))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """``torch.save(obj, path)`` through a fsynced temporary file and an atomic rename.

    A process killed at any point leaves ``path`` either untouched or complete; at worst a
    ``.flowdiff-tmp-*`` file remains beside it, removed by the next save into the same folder.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Saves are sequential, so any temporary file here was left by an earlier killed process.
    for stale in path.parent.glob(f"{TEMP_PREFIX}*"):
        with contextlib.suppress(OSError):
            stale.unlink()
    handle, temp = tempfile.mkstemp(prefix=TEMP_PREFIX + path.name + ".", dir=path.parent)
    try:
        os.fchmod(handle, 0o666 & ~_umask())  # mkstemp's 0600 would hide it from the group
        with os.fdopen(handle, "wb") as file:
            torch.save(obj, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_folder(path.parent)


def atomic_link(source: str | Path, path: str | Path) -> bool:
    """Make ``path`` a hard link to the file ``source`` (atomically replacing ``path``); returns
    ``False``, changing nothing, where the file system cannot link."""
    path = Path(path)
    temp = path.parent / f"{TEMP_PREFIX}{path.name}.{uuid.uuid4().hex}"
    try:
        os.link(source, temp)
    except OSError:
        return False
    os.replace(temp, path)
    _fsync_folder(path.parent)
    return True


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning CheckpointIO: atomic, durable local writes; safe loading by default.

    Args:
        trust_checkpoint: load checkpoints with full unpickling (``weights_only=False``), which
            can run arbitrary code from the file; only for checkpoints you made yourself.
    """

    def __init__(self, trust_checkpoint: bool = False):
        super().__init__()
        self.trust_checkpoint = trust_checkpoint
        #: (folder, epoch, step) of the last checkpoint written in full, and its file
        self._written: tuple[tuple[Path, Any, Any], Path] | None = None

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None or not _is_local(path):
            return super().save_checkpoint(checkpoint, path, storage_options)
        path = Path(path)
        moment = (path.parent, checkpoint.get("epoch"), checkpoint.get("global_step"))
        written = self._written
        if (
            written
            and written[0] == moment
            and written[1] != path
            and atomic_link(written[1], path)
        ):
            return
        atomic_torch_save(checkpoint, path)
        self._written = (moment, path)

    def load_checkpoint(
        self,
        path: Any,
        map_location: Callable | None = lambda storage, loc: storage,
        weights_only: bool | None = None,
    ) -> dict[str, Any]:
        if weights_only is None:
            weights_only = not self.trust_checkpoint
        checkpoint = super().load_checkpoint(
            path, map_location=map_location, weights_only=weights_only
        )
        return upgrade(checkpoint)
