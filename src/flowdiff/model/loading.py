"""A trained model read from a checkpoint for sampling or evaluation, with a note on which
weights it carries (what ``flowdiff-sample`` and ``flowdiff-eval`` load)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowdiff.checkpoints.reading import read_checkpoint
from flowdiff.checkpoints.weights import weights_label
from flowdiff.model.devices import check_device
from flowdiff.model.module import GenerativeModule


@dataclass
class LoadedModel:
    """A model ready to sample, with a note on which weights it carries.

    Attributes:
        model: the module in eval mode.
        weights: ``"ema"``, ``"raw"`` or ``"raw (no EMA saved)"``.
        global_step: the training step the checkpoint was written at.
    """

    model: GenerativeModule
    weights: str
    global_step: int = 0


def load_model(ckpt_path: str | Path, device: Any = "cpu", ema: bool = True) -> LoadedModel:
    """Load a flowdiff checkpoint (read once), with its EMA weights when ``ema`` and the
    checkpoint has them (see :mod:`flowdiff.checkpoints.weights`)."""
    check_device(device)
    checkpoint = read_checkpoint(ckpt_path, map_location="cpu")
    try:
        model = GenerativeModule.from_checkpoint(checkpoint, map_location=device, ema=ema)
    except RuntimeError as error:  # load_state_dict: keys or shapes that do not fit
        raise ValueError(
            f"ckpt_path={str(ckpt_path)!r}: its weights do not fit the network its flowdiff "
            f"record describes ({checkpoint['flowdiff']['network'].get('_target_')}): "
            f"{str(error).splitlines()[0]} Use an unmodified checkpoint from flowdiff-train."
        ) from error
    step = int(checkpoint.get("global_step", 0))
    return LoadedModel(model, weights_label(checkpoint, ema), step)
