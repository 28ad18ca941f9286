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
import errno
import os
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import torch
from lightning.fabric.utilities.cloud_io import get_filesystem
from lightning.pytorch.plugins.io import TorchCheckpointIO

from flowdiff.checkpoints.integrity import check_checkpoint_bytes
from flowdiff.checkpoints.run_folders import nearest_existing
from flowdiff.checkpoints.upgrade import upgrade
from flowdiff.errors import DiskFullError, OutputError

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


def disk_full(error: BaseException) -> OSError | None:
    """The ``ENOSPC``/``EDQUOT`` error behind ``error`` (torch reports one as a
    ``RuntimeError`` whose context is the ``OSError``), else ``None``."""
    seen = 0
    while error is not None and seen < 8:
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return error
        error, seen = error.__cause__ or error.__context__, seen + 1
    return None


def _fsync_file(path: str | Path) -> None:
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _disk_full_error(path: Path, full: OSError, what: str) -> DiskFullError:
    kept = "the previous file is unchanged" if path.exists() else "no partial file was left"
    if what == "checkpoint":
        kept += f", and the other checkpoints in {str(path.parent)!r} are whole"
    return DiskFullError(
        f"cannot write {what or 'file'} {str(path)!r}: {full.strerror or 'no space left'} "
        f"(disk full); nothing was lost: {kept}. Free some space (or write elsewhere) and run "
        "again."
    )


@contextlib.contextmanager
def atomic_path(path: str | Path, what: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write in full; on success it is ``fsync``ed and
    renamed over ``path``, so a failure or a kill at any point leaves ``path`` as it was (or
    absent), never half-written. At worst a ``.flowdiff-tmp-*`` file remains, removed by the
    next write into the same folder.

    Args:
        path: the file to write.
        what: how a message calls the file (``"checkpoint"``, ``"samples"``...).

    Raises:
        DiskFullError: the disk (or quota) filled up; ``path`` is unchanged, and the one-line
            message names it and says so.
    """
    path = Path(path)
    if path.exists() and not path.is_file():  # the rename would replace /dev/null, a FIFO...
        raise OutputError(
            f"cannot write {what or 'file'} {str(path)!r}: it exists and is not a regular file "
            "(a folder, device, pipe or socket), which writing would replace; give a file path."
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Writes into one folder are sequential: a temporary file here was left by a killed
        # process.
        for stale in path.parent.glob(f"{TEMP_PREFIX}*"):
            with contextlib.suppress(OSError):
                stale.unlink()
        handle, temp = tempfile.mkstemp(prefix=TEMP_PREFIX + path.name + ".", dir=path.parent)
    except OSError as error:
        raise _write_error(path, error, what) from None
    os.close(handle)
    try:
        os.chmod(temp, 0o666 & ~_umask())  # mkstemp's 0600 would hide it from the group
        yield Path(temp)
        _fsync_file(temp)
        os.replace(temp, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if disk_full(error) is None and not isinstance(error, OSError):
            raise
        raise _write_error(path, error, what) from None
    _fsync_folder(path.parent)


def write_reason(folder: Path, error: BaseException) -> str:
    """Why ``folder`` could not be written in: a file where a folder must be, else the error's
    own words (``Permission denied``, ``Read-only file system``...)."""
    existing = nearest_existing(folder)
    if existing.exists() and not existing.is_dir():
        return f"{str(existing)!r} is a file, not a folder"
    return getattr(error, "strerror", None) or str(error)


def _write_error(path: Path, error: BaseException, what: str) -> OutputError:
    """One line naming ``path`` for a write that failed: disk full, or any other ``OSError``
    (no permission, a read-only or missing folder), never the temporary file's name."""
    full = disk_full(error)
    if full is not None:
        return _disk_full_error(path, full, what)
    if isinstance(error, OutputError):
        return error
    kept = "the previous file is unchanged" if path.exists() else "nothing was written"
    reason = write_reason(path.parent, error)
    return OutputError(
        f"cannot write {what or 'file'} {str(path)!r}: {reason} (in {str(path.parent)!r}); "
        f"{kept}. Write it to a folder you can write to."
    )


def atomic_write(path: str | Path, write: Callable[[BinaryIO], None], what: str = "") -> None:
    """``write(file)`` on a binary file that becomes ``path`` only once complete (see
    :func:`atomic_path`); a full disk is one :class:`DiskFullError` naming ``path``."""
    with atomic_path(path, what) as temp, open(temp, "wb") as file:
        write(file)


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """``torch.save(obj, path)`` through :func:`atomic_write`: a process killed at any point
    leaves ``path`` either untouched or complete; a full disk is one :class:`DiskFullError`."""
    atomic_write(path, lambda file: torch.save(obj, file), "checkpoint")


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
        if _is_local(path) and zipfile.is_zipfile(path):
            check_checkpoint_bytes(path)
        checkpoint = super().load_checkpoint(
            path, map_location=map_location, weights_only=weights_only
        )
        return upgrade(checkpoint)
