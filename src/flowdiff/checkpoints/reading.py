"""Reading flowdiff checkpoints safely, with one clear message for each way that can fail.

Checkpoints are loaded with ``torch.load(weights_only=True)``: tensors, numbers, strings and
plain containers only. Full unpickling can execute any code stored in the file, so it needs an
explicit opt-in: ``trust_checkpoint=true`` (training) or ``FLOWDIFF_TRUST_CHECKPOINT=1``.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from flowdiff.checkpoints.integrity import check_checkpoint_bytes
from flowdiff.checkpoints.upgrade import upgrade
from flowdiff.components import current_name, public_name
from flowdiff.errors import CheckpointError, ModelNotFoundError

#: ``Normalizer.ADDED_BUFFERS`` (flowdiff.model.normalizer; checkpoints/ does not import
#: model/): buffers that checkpoints written before them lack, filled in when they load
ADDED_BUFFERS = ("low", "high", "bounded", "data_min", "data_max")

log = logging.getLogger(__name__)

#: Environment variable that allows full unpickling wherever no flag can be passed.
TRUST_ENV = "FLOWDIFF_TRUST_CHECKPOINT"


def trusted(trust: bool | None) -> bool:
    """``trust`` when given, else whether ``FLOWDIFF_TRUST_CHECKPOINT`` is set to 1/true/yes."""
    if trust is not None:
        return bool(trust)
    return os.environ.get(TRUST_ENV, "").lower() in ("1", "true", "yes")


def _check_file(path: Path) -> None:
    if not path.exists():
        raise ModelNotFoundError(
            f"ckpt_path={str(path)!r} does not exist; point it at a .ckpt file such as "
            "outputs/<run>/checkpoints/last.ckpt."
        )
    if not path.is_file():
        raise CheckpointError(
            f"ckpt_path={str(path)!r} is a folder, not a checkpoint file; point it at a .ckpt "
            "inside it, e.g. checkpoints/last.ckpt."
        )
    if not zipfile.is_zipfile(path):
        raise CheckpointError(
            f"ckpt_path={str(path)!r} is not a readable PyTorch checkpoint (not a zip "
            "archive: it is truncated, empty or another kind of file); use a .ckpt written by "
            "flowdiff-train."
        )
    check_checkpoint_bytes(path)


def _load(path: Path, map_location: Any, trust: bool) -> Any:
    try:
        return torch.load(path, map_location=map_location, weights_only=not trust)
    except pickle.UnpicklingError as error:
        if trust:
            message = f"ckpt_path={str(path)!r} cannot be unpickled: {error}"
            raise CheckpointError(message) from error
        found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(error))
        what = f"a pickled {found.group(1)}" if found else "pickled Python objects"
        raise CheckpointError(
            f"ckpt_path={str(path)!r} holds {what}, more than tensors and plain containers; "
            "loading it needs full unpickling, which can run code stored in the file. If you "
            f"made this checkpoint yourself, pass trust_checkpoint=true (or set {TRUST_ENV}=1)."
        ) from error
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile) as error:
        raise CheckpointError(
            f"ckpt_path={str(path)!r} is not a readable PyTorch checkpoint ({error}); it may be "
            "truncated or another kind of file."
        ) from error


def read_checkpoint(
    path: str | Path, map_location: Any = "cpu", trust: bool | None = None
) -> dict[str, Any]:
    """Load a checkpoint written by ``flowdiff-train``.

    Args:
        path: the ``.ckpt`` file.
        map_location: device for the tensors.
        trust: allow full unpickling; ``None`` reads ``FLOWDIFF_TRUST_CHECKPOINT``.

    Raises:
        ModelNotFoundError: the file does not exist (a ``FileNotFoundError``).
        DamagedFileError: its bytes fail the archive's CRCs (a ``CheckpointError``).
        CheckpointError: a folder, not a checkpoint, truncated, needing full
            unpickling without ``trust``, or not written by a flowdiff GenerativeModule.
    """
    path = Path(path)
    _check_file(path)
    checkpoint = _load(path, map_location, trusted(trust))
    if not isinstance(checkpoint, dict) or "flowdiff" not in checkpoint:
        raise CheckpointError(
            f"ckpt_path={str(path)!r} was not written by flowdiff's GenerativeModule (no "
            "'flowdiff' record); use a checkpoint from flowdiff-train."
        )
    return upgrade(checkpoint)


def _shape_differences(
    saved: Mapping[str, torch.Tensor], expected: Mapping[str, torch.Tensor]
) -> list[str]:
    # a normaliser's bounds and range came after the first checkpoints: older files load
    # without them (as unbounded, with the range [-1, 1] meant)
    optional = {k for k in expected if k.rsplit(".", 1)[-1] in ADDED_BUFFERS and "normalizer." in k}
    missing = sorted(set(expected) - set(saved) - optional)
    unexpected = sorted(set(saved) - set(expected))
    wrong = [
        f"{key}: checkpoint {tuple(saved[key].shape)} vs config {tuple(expected[key].shape)}"
        for key in expected
        if key in saved and tuple(saved[key].shape) != tuple(expected[key].shape)
    ]
    problems = [f"shape {item}" for item in wrong[:3]]
    problems += [f"missing {key}" for key in missing[:2]]
    problems += [f"unexpected {key}" for key in unexpected[:2]]
    hidden = len(wrong) + len(missing) + len(unexpected) - len(problems)
    return problems + ([f"{hidden} more"] if hidden > 0 else [])


def check_matches(checkpoint: Mapping[str, Any], model: torch.nn.Module, path: str | Path) -> None:
    """Refuse to resume ``model`` from a checkpoint made for another network or path.

    Raises:
        CheckpointError: the probability path's class differs, or the weights' names or shapes
            disagree with the configured network.
    """
    record = checkpoint.get("flowdiff", {})
    saved_path = record.get("path", {}).get("_target_")
    model_path = public_name(type(model.path))
    # stored names are public import paths (older full paths mapped by current_name)
    if saved_path is not None and current_name(saved_path) != model_path:
        raise CheckpointError(
            f"ckpt_path={str(path)!r} was trained with the path {saved_path} but this config "
            f"builds {model_path}; resume with the model config the run was trained with (see "
            "its .hydra/config.yaml) or start without ckpt_path."
        )
    problems = _shape_differences(checkpoint.get("state_dict", {}), model.state_dict())
    if problems:
        network = record.get("network", {}).get("_target_", "another network")
        raise CheckpointError(
            f"ckpt_path={str(path)!r} was trained with a different network ({network}): "
            f"{'; '.join(problems)}. Use the model.network settings of the run that wrote it "
            "(its .hydra/config.yaml) or start without ckpt_path."
        )


def check_resume(ckpt_path: str | Path | None, model: torch.nn.Module, trust: bool | None) -> None:
    """Before ``trainer.fit(ckpt_path=...)``: the file exists, is a flowdiff checkpoint that
    loads under the trust setting, and fits ``model``; nothing is done when ``ckpt_path`` is
    ``None`` or one of Lightning's names for a checkpoint it finds itself."""
    # Lightning's own names ("last", "best", "hpc", "registry:...") are resolved inside fit.
    lightning_names = ("last", "best", "hpc")
    if ckpt_path is None or ckpt_path in lightning_names or str(ckpt_path).startswith("registry"):
        return
    check_matches(read_checkpoint(ckpt_path, "cpu", trust), model, ckpt_path)
