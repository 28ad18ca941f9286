"""Reading user data files with one clear message per way they can be wrong.

Every message names the config key or the file, the key inside it, and what to do.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from flowdiff.errors import DataError


def require_file(data_dir: str | Path, name: str, hint: str) -> Path:
    """``data_dir/name``, after checking the folder exists, is a folder and holds the file.

    Args:
        data_dir: the folder argument of the datamodule.
        name: the file expected inside it.
        hint: what the file must hold, for the message.

    Raises:
        DataError: the folder is missing, is a file, is empty, or lacks ``name``.
    """
    folder = Path(data_dir)
    if not folder.exists():
        raise DataError(f"data_dir={str(data_dir)!r} does not exist; {hint}.")
    if not folder.is_dir():
        raise DataError(f"data_dir={str(data_dir)!r} is a file, not a folder; {hint}.")
    file = folder / name
    if not file.is_file():
        state = f"is empty: it has no {name}" if not any(folder.iterdir()) else f"has no {name}"
        raise DataError(f"data_dir={str(data_dir)!r} {state}; {hint}.")
    return file


def _numeric(file: Path, key: str, array: np.ndarray) -> np.ndarray:
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise DataError(
            f"{file}: key {key!r} holds non-numeric data (dtype {array.dtype}); store numbers "
            "(e.g. float32 images, integer labels)."
        )
    return array


def read_npz(file: Path, keys: Sequence[str]) -> dict[str, np.ndarray]:
    """The numeric arrays ``keys`` of an ``.npz``, all with the same number of rows.

    Raises:
        DataError: truncated or not an ``.npz``, a key missing, pickled objects or strings,
            or arrays whose lengths disagree.
    """
    try:
        with np.load(file, allow_pickle=False) as arrays:
            missing = [key for key in keys if key not in arrays.files]
            if missing:
                raise DataError(
                    f"{file} lacks key(s) {missing}; it has {arrays.files}. Save it with "
                    f"numpy.savez(..., {', '.join(f'{k}=...' for k in keys)})."
                )
            out = {key: _numeric(file, key, arrays[key]) for key in keys}
    except DataError:
        raise
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise DataError(
                f"{file} holds pickled Python objects, not numeric arrays; save plain numeric "
                "arrays with numpy.savez."
            ) from error
        raise DataError(f"{file} cannot be read ({error}); is it a truncated .npz?") from error
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as error:
        raise DataError(
            f"{file} is not a readable .npz ({type(error).__name__}: {error}); it may be "
            "truncated or another kind of file. Re-export it with numpy.savez."
        ) from error
    lengths = {key: len(array) for key, array in out.items()}
    if len(set(lengths.values())) > 1:
        raise DataError(
            f"{file}: keys disagree in length {lengths}; every key needs one row per sample."
        )
    return out
