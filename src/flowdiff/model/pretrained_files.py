"""Where a pretrained model is (a local folder or a Hub repository), whether its files are sound,
and writing its folder so that a failure leaves the previous one whole.

``from_pretrained`` asks the Hub only for a Hub-style id, ``owner/name``, that is not a local
path: a name that exists locally is local; one that starts with ``./``, ``../``, ``/`` or ``~``,
has a single part (``my_model``), more than one ``/``, ends in a file suffix, or whose first part
is a local folder (``runs/model`` beside ``runs/``) is local only,
and a missing one fails at once instead of after the Hub client's retries.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from huggingface_hub import constants
from safetensors import safe_open

from flowdiff.checkpoints.atomic_io import TEMP_PREFIX, disk_full, write_reason
from flowdiff.checkpoints.integrity import DIGEST_KEY, check_safetensors, read_json_config
from flowdiff.errors import (
    CheckpointError,
    DiskFullError,
    InputTypeError,
    InputValueError,
    ModelNotFoundError,
    OutputError,
)

#: a Hugging Face Hub repository id: ``owner/name``
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
#: suffixes that make a name a file path, never a Hub id
FILE_SUFFIXES = {".ckpt", ".safetensors", ".json", ".pt", ".pth", ".bin", ".npz", ".yaml"}


def _local_only(name: str) -> bool:
    return (
        name.startswith(("./", "../", "/", "~", ".\\"))
        or not HUB_ID.match(name)
        or Path(name).suffix.lower() in FILE_SUFFIXES
    )


def resolve_model_id(name_or_path: Any) -> tuple[str, bool]:
    """``(model_id, is_local)`` for ``from_pretrained``'s first argument.

    Raises:
        InputTypeError: not a string or path.
        ModelNotFoundError: a local-looking path that does not exist, or a file where the
            folder ``save_pretrained`` writes belongs.
    """
    what = "pretrained_model_name_or_path"
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise InputTypeError(
            f"{what} must be a folder path or a Hub id 'owner/name', not a "
            f"{type(name_or_path).__name__}."
        )
    name = os.fspath(name_or_path)
    path = Path(name).expanduser()
    if not name.strip():
        raise InputValueError(f"{what}='' is empty; give the folder save_pretrained wrote.")
    if path.is_dir():
        return str(path), True
    if path.exists():
        hint = " (a .ckpt: use GenerativeModule.load_from_checkpoint)" * (path.suffix == ".ckpt")
        raise ModelNotFoundError(
            f"{what}={name!r} is a file, not a folder; give the folder save_pretrained wrote "
            f"(with config.json and model.safetensors){hint}."
        )
    # 'runs/model' where runs/ is a local folder is a local path, whatever it looks like
    beside_a_folder = path.parent != Path(".") and path.parent.is_dir()
    if isinstance(name_or_path, os.PathLike) or _local_only(name) or beside_a_folder:
        raise ModelNotFoundError(
            f"{what}={name!r}: no such folder ({path.absolute()}); check the path, or give a "
            "Hub id of the form 'owner/name' to download one."
        )
    return name, False


def check_local_folder(folder: str | Path) -> dict[str, Any]:
    """Refuse a pretrained folder without sound ``config.json`` and ``model.safetensors``;
    returns the config.

    Raises:
        ModelNotFoundError: a file is missing.
        DamagedFileError: ``config.json`` does not parse, or the weights are truncated or differ
            from the digest ``config.json`` records.
    """
    folder = Path(folder)
    config_file = folder / constants.CONFIG_NAME
    weights = folder / constants.SAFETENSORS_SINGLE_FILE
    for file in (config_file, weights):
        if not file.is_file():
            raise ModelNotFoundError(
                f"{str(folder)!r} has no {file.name}; give a folder written by "
                "GenerativeModule.save_pretrained (config.json, model.safetensors)."
            )
        if file == config_file:
            config = read_json_config(config_file, "config.json")
            missing = [part for part in ("network", "path", "sampler") if part not in config]
            if missing:
                raise CheckpointError(
                    f"{str(folder)!r} has no flowdiff config.json naming the "
                    f"{', '.join(missing)}; load a folder written by "
                    "GenerativeModule.save_pretrained."
                )
    check_safetensors(weights, config.get(DIGEST_KEY), "model.safetensors")
    return config


def check_weights_fit(model: torch.nn.Module, weights: str | Path) -> None:
    """Refuse weights whose names or shapes differ from the network ``config.json`` builds
    (e.g. a ``config.json`` edited to another width) with one message, not a state-dict dump.

    Raises:
        CheckpointError: listing the first differences.
    """
    from flowdiff.checkpoints.reading import _shape_differences

    with safe_open(str(weights), framework="pt") as file:
        saved = {key: _Shape(file.get_slice(key).get_shape()) for key in file.keys()}  # noqa: SIM118
    problems = _shape_differences(saved, model.state_dict())
    if problems:
        config = Path(weights).with_name(constants.CONFIG_NAME)
        listed = "; ".join(problems).replace("checkpoint (", "weights (")
        raise CheckpointError(
            f"{str(config)!r} describes a network whose weights differ from those in "
            f"{Path(weights).name} ({listed.replace('vs config (', 'vs config.json (')}); "
            "restore config.json as save_pretrained wrote it, or save the model again."
        )


class _Shape:
    """A stand-in with ``.shape`` for a tensor not read from the file."""

    def __init__(self, shape: list[int]):
        self.shape = tuple(shape)


def write_folder(folder: str | Path, write: Callable[[Path], None]) -> None:
    """``write(temporary_folder)``, then its files moved into ``folder`` (the whole folder in one
    rename when ``folder`` is new; else file by file, each replaced atomically). A failure
    leaves ``folder`` as it was.

    Raises:
        InputTypeError: ``folder`` is not a path.
        DiskFullError: the disk filled up; the message names ``folder``.
    """
    if not isinstance(folder, (str, os.PathLike)):
        raise InputTypeError(f"save_directory must be a folder path, not {type(folder).__name__}.")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputValueError(f"save_directory={str(folder)!r} is a file; give a folder path.")
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        temp = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{folder.name}.", dir=folder.parent))
    except OSError as error:  # no permission, a read-only or missing file system: name it
        reason = write_reason(folder.parent, error)
        raise OutputError(
            f"cannot write the model folder {str(folder)!r}: {reason} (in "
            f"{str(folder.parent)!r}); nothing was written. Save it to a folder you can write to."
        ) from None
    try:
        write(temp)
        if not folder.exists():
            os.replace(temp, folder)
            return
        # the weights first: config.json records their digest, so a crash between the two
        # renames is refused on load rather than loading weights under the wrong config
        names = sorted(p.name for p in temp.iterdir())
        for name in sorted(names, key=lambda n: n != constants.SAFETENSORS_SINGLE_FILE):
            os.replace(temp / name, folder / name)
    except BaseException as error:
        full = disk_full(error)
        if full is None:
            raise
        raise DiskFullError(
            f"cannot write the model folder {str(folder)!r}: {full.strerror} (disk full); "
            "nothing was lost: its previous files are unchanged. Free some space and save again."
        ) from None
    finally:
        shutil.rmtree(temp, ignore_errors=True)
