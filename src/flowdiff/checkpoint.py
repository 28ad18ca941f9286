"""Reading flowdiff checkpoints, with one clear message for each way that can fail."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch


def read_checkpoint(path: str | Path, map_location: Any = "cpu") -> dict[str, Any]:
    """Load a checkpoint written by ``flowdiff-train``.

    Raises:
        FileNotFoundError: nothing at ``path``.
        ValueError: the file is not a checkpoint, or not one of a flowdiff GenerativeModule.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"ckpt_path={str(path)!r} does not exist; point it at a .ckpt file such as "
            "outputs/<run>/checkpoints/last.ckpt."
        )
    try:
        # Lightning checkpoints hold plain containers, tensors and numbers; the trusted-source
        # loader is used because hyperparameters may hold OmegaConf or Lightning containers.
        checkpoint = torch.load(path, map_location=map_location, weights_only=False)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile) as error:
        raise ValueError(
            f"ckpt_path={str(path)!r} is not a readable PyTorch checkpoint ({error}); it may be "
            "truncated or another kind of file."
        ) from error
    if not isinstance(checkpoint, dict) or "flowdiff" not in checkpoint:
        raise ValueError(
            f"ckpt_path={str(path)!r} was not written by flowdiff's GenerativeModule (no "
            "'flowdiff' record); use a checkpoint from flowdiff-train."
        )
    return checkpoint
