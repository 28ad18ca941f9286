"""Is a file we wrote still the file we wrote? Checked before anything is loaded from it.

- A ``.ckpt`` is a zip archive (``torch.save``'s format) whose members each carry a CRC-32;
  ``torch.load`` never checks them, so flipped bytes inside a weight tensor load silently.
  :func:`check_checkpoint_bytes` reads every member and compares its CRC.
- A ``model.safetensors`` is an 8-byte header length, a JSON header and the tensors' bytes; the
  header must parse and its tensors must end exactly at the end of the file (a truncated file
  does not). :func:`check_safetensors` checks that, and the SHA-256 digest that
  ``save_pretrained`` records in ``config.json`` (:data:`DIGEST_KEY`) when there is one.
- A ``config.json`` must parse as a JSON object (:func:`read_json_config`).

Each failure is one :class:`~flowdiff.errors.DamagedFileError` naming the file.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zipfile
from pathlib import Path
from typing import Any

from flowdiff.errors import DamagedFileError

#: key of ``config.json`` holding the SHA-256 of ``model.safetensors`` as written
DIGEST_KEY = "weights_sha256"

_CHUNK = 1 << 20


def _damaged(what: str, path: Path, problem: str, fix: str) -> DamagedFileError:
    return DamagedFileError(f"{what}={str(path)!r} is damaged: {problem}; {fix}")


def check_checkpoint_bytes(path: str | Path, what: str = "ckpt_path") -> None:
    """Refuse a checkpoint archive whose members fail their CRC-32 or cannot be read.

    Args:
        path: a ``.ckpt`` already known to be a zip archive.
        what: the argument or key the path came from, for the message.

    Raises:
        DamagedFileError: a member's bytes no longer match its CRC, or the archive is broken.
    """
    path = Path(path)
    fix = "its bytes changed after it was written (disk, copy or transfer); use another copy or "
    fix += "an earlier checkpoint of the run (e.g. an epoch*.ckpt beside it)."
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise _damaged(what, path, f"its archive cannot be read ({error})", fix) from error
    if bad is not None:
        raise _damaged(what, path, f"the CRC of {bad!r} inside it does not match", fix)


def sha256(path: str | Path) -> str:
    """The SHA-256 hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _safetensors_end(path: Path) -> tuple[int, int]:
    """(where the tensors' data must end, the file's size) from the safetensors header."""
    size = path.stat().st_size
    with open(path, "rb") as file:
        head = file.read(8)
        if len(head) < 8:
            raise ValueError(f"only {size} bytes, shorter than a safetensors header")
        (length,) = struct.unpack("<Q", head)
        if length > size - 8:
            raise ValueError(f"its header claims {length} bytes but the file has {size}")
        header = json.loads(file.read(length))
    ends = [entry["data_offsets"][1] for key, entry in header.items() if key != "__metadata__"]
    return 8 + length + max(ends, default=0), size


def check_safetensors(path: str | Path, digest: str | None = None, what: str = "weights") -> None:
    """Refuse a ``.safetensors`` file that is truncated, unparsable or (when ``digest`` is
    given) not byte-for-byte the file that was saved.

    Raises:
        DamagedFileError: naming the file and what is wrong with it.
    """
    path = Path(path)
    fix = "save the model again (save_pretrained) or download a fresh copy."
    try:
        end, size = _safetensors_end(path)
    except (ValueError, KeyError, TypeError, IndexError, UnicodeDecodeError) as error:
        raise _damaged(what, path, f"not a readable safetensors file ({error})", fix) from error
    if end != size:
        problem = f"{size} bytes where its header needs {end} (truncated or extended)"
        raise _damaged(what, path, problem, fix)
    if digest is not None and sha256(path) != digest:
        raise _damaged(what, path, f"its SHA-256 differs from the {DIGEST_KEY} recorded", fix)


def read_json_config(path: str | Path, what: str = "config") -> dict[str, Any]:
    """``config.json`` as a dict.

    Raises:
        DamagedFileError: the file is not valid JSON or not a JSON object.
    """
    path = Path(path)
    fix = "restore it from the folder save_pretrained wrote, or save the model again."
    try:
        config = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise _damaged(what, path, f"it is not valid JSON ({error})", fix) from error
    if not isinstance(config, dict):
        raise _damaged(what, path, f"it holds a {type(config).__name__}, not an object", fix)
    return config
