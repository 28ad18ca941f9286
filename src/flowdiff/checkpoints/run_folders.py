"""Where a run writes: a new ``outputs/<run_name>/``, or the folder of the run being resumed;
and removing the folder of a run that failed before it trained.

Registered as the ``flowdiff_run_dir`` resolver (:mod:`flowdiff.config.resolvers`;
``configs/hydra/default.yaml`` uses it), so Hydra itself puts a resumed run's logs, TensorBoard
events and records into the run folder they continue.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path


def run_dir(
    default: str, ckpt_path: str | None, config_name: str = "", weights_only: bool = False
) -> str:
    """The folder of this run.

    Args:
        default: ``outputs/<run_name>`` for a fresh run.
        ckpt_path: ``None`` (fresh run), a checkpoint file, or ``last``.
        config_name: the Hydra config name, used to find the latest run for ``last``.
        weights_only: ``resume_weights_only=true``: a new run that starts from the checkpoint's
            weights writes its own folder (``default``), leaving the earlier run's files alone.

    Returns:
        ``default`` for a fresh run; ``<run>`` for a checkpoint in ``<run>/checkpoints/``; for
        ``last``: ``default`` when it already holds checkpoints (``run_name=<run>`` given), else
        the most recently written ``<config_name>_*`` run beside it that has a ``last.ckpt``.

    Raises:
        FileNotFoundError: ``ckpt_path=last`` and no such run exists.
    """
    if not ckpt_path or (weights_only and ckpt_path != "last"):
        return default
    if ckpt_path == "last":
        return _latest_run(Path(default), config_name)
    path = Path(ckpt_path)
    if path.parent.name == "checkpoints":
        return str(path.parent.parent)
    return default


def _latest_run(default: Path, config_name: str) -> str:
    if (default / "checkpoints").is_dir():
        return str(default)
    candidates = [
        folder
        for folder in default.parent.glob(f"{config_name}_*")
        if (folder / "checkpoints" / "last.ckpt").is_file()
    ]
    if not candidates:
        raise FileNotFoundError(
            f"ckpt_path=last: no run of config {config_name!r} with checkpoints/last.ckpt under "
            f"{default.parent}/; name the run (run_name=<run> ckpt_path=last) or give the file "
            "(ckpt_path=outputs/<run>/checkpoints/last.ckpt)."
        )
    latest = max(candidates, key=lambda f: (f / "checkpoints" / "last.ckpt").stat().st_mtime)
    return str(latest)


#: What a run writes before its first training step: Hydra's record and log, the run journal and
#: TensorBoard's first event file. A folder holding only these is a failed start, not a run.
START_DEBRIS = (".hydra", "events.jsonl", "tensorboard")


def discard_failed_start(folder: str | Path) -> bool:
    """Remove the run folder of a run that failed before its first training step, when it holds
    nothing but :data:`START_DEBRIS` and ``*.log``, so that neither a user nor
    ``ckpt_path=last`` mistakes it for a run. Anything else in the folder keeps it whole.

    Returns:
        Whether the folder was removed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return False
    items = list(folder.iterdir())
    if not items or any(i.name not in START_DEBRIS and i.suffix != ".log" for i in items):
        return False
    for item in items:
        if item.is_dir() and not item.is_symlink():
            shutil.rmtree(item, ignore_errors=True)
        else:
            item.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # e.g. the working directory itself
        folder.rmdir()
    return True


#: run folder -> the earlier ``.hydra/`` record moved aside by this process (see
#: :func:`keep_earlier_record`), so that a resume that fails before it starts can put it back
_MOVED_RECORDS: dict[Path, Path] = {}


def keep_earlier_record(record: Path, target: Path) -> None:
    """Move an earlier run's ``.hydra/`` record to ``target`` (``.hydra-<time>/``) before Hydra
    writes this run's, remembering it for :func:`restore_earlier_record`."""
    record.rename(target)
    _MOVED_RECORDS[record.resolve()] = target.resolve()


def restore_earlier_record(folder: str | Path, subdir: str = ".hydra") -> bool:
    """Put back the ``.hydra/`` record :func:`keep_earlier_record` moved aside in ``folder``,
    replacing the record of a resume that failed before its first step; returns whether one was
    put back."""
    record = (Path(folder) / subdir).resolve()
    earlier = _MOVED_RECORDS.pop(record, None)
    if earlier is None or not earlier.is_dir():
        return False
    shutil.rmtree(record, ignore_errors=True)
    earlier.rename(record)
    return True


def nearest_existing(folder: str | Path) -> Path:
    """``folder`` itself if it exists, else its nearest existing parent (what a write into
    ``folder`` meets first)."""
    existing = Path(folder)
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    return existing
