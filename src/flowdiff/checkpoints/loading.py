"""A trained run seen from one of its checkpoints: the model (EMA or raw weights), the run folder
and the training config beside it, and the datamodule that config builds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from lightning import LightningDataModule
from omegaconf import DictConfig, OmegaConf

from flowdiff.checkpoints.reading import read_checkpoint
from flowdiff.model.module import GenerativeModule

#: Where Lightning's ``WeightAveraging`` (``EMAWeightAveraging``) keeps the raw weights when it
#: writes the averaged ones as the checkpoint's ``state_dict``.
RAW_WEIGHTS_KEY = "current_model_state"


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


def run_folder(ckpt_path: str | Path) -> Path:
    """The run folder of a checkpoint at ``<run>/checkpoints/<name>.ckpt`` (else its folder)."""
    ckpt_path = Path(ckpt_path)
    parent = ckpt_path.parent
    return parent.parent if parent.name == "checkpoints" else parent


def load_model(ckpt_path: str | Path, device: Any = "cpu", ema: bool = True) -> LoadedModel:
    """Load a flowdiff checkpoint, with its EMA weights when ``ema`` and the checkpoint has them.

    Lightning's weight-averaging callback saves the averaged weights as ``state_dict`` and the
    raw ones under :data:`RAW_WEIGHTS_KEY`; a checkpoint without that key has raw weights only.
    """
    checkpoint = read_checkpoint(ckpt_path, map_location="cpu")
    has_ema = RAW_WEIGHTS_KEY in checkpoint
    try:
        model = GenerativeModule.load_from_checkpoint(ckpt_path, map_location=device)
    except RuntimeError as error:  # load_state_dict: keys or shapes that do not fit
        raise ValueError(
            f"ckpt_path={str(ckpt_path)!r}: its weights do not fit the network its flowdiff "
            f"record describes ({checkpoint['flowdiff']['network'].get('_target_')}): "
            f"{str(error).splitlines()[0]} Use an unmodified checkpoint from flowdiff-train."
        ) from error
    step = int(checkpoint.get("global_step", 0))
    if has_ema and not ema:
        model.load_state_dict(checkpoint[RAW_WEIGHTS_KEY])
        return LoadedModel(model, "raw", step)
    if has_ema:
        return LoadedModel(model, "ema", step)
    return LoadedModel(model, "raw (no EMA saved)" if ema else "raw", step)


def train_config(ckpt_path: str | Path) -> DictConfig:
    """The training config of the run a checkpoint belongs to (``<run>/.hydra/config.yaml``)."""
    file = run_folder(ckpt_path) / ".hydra" / "config.yaml"
    if not file.is_file():
        raise FileNotFoundError(
            f"No training config at {file}: conditions=val and the evaluation's real data are "
            "rebuilt from the run's .hydra/config.yaml beside checkpoints/. Keep the checkpoint "
            "inside its run folder, or pass the data yourself (Python API: datamodule=...)."
        )
    return OmegaConf.load(file)


def build_datamodule(ckpt_path: str | Path, stage: str = "fit") -> LightningDataModule:
    """The datamodule of the checkpoint's run, set up with the same split and normalisation."""
    cfg = train_config(ckpt_path)
    datamodule = instantiate(cfg.data)
    datamodule.setup(stage)
    return datamodule


def collect(loader, limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Concatenate a loader's batches ``{"x", "cond"}`` into ``x`` ``(N, ...)`` and ``cond``,
    stopping once ``limit`` samples are in."""
    xs, conds, count = [], [], 0
    for batch in loader:
        xs.append(batch["x"])
        if batch.get("cond") is not None:
            conds.append(batch["cond"])
        count += len(batch["x"])
        if limit is not None and count >= limit:
            break
    x = torch.cat(xs)[:limit]
    cond = torch.cat(conds)[:limit] if conds else None
    return x, cond
