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


def run_folder(ckpt_path: str | Path) -> Path:
    """The run folder of a checkpoint at ``<run>/checkpoints/<name>.ckpt`` (else its folder)."""
    ckpt_path = Path(ckpt_path)
    parent = ckpt_path.parent
    return parent.parent if parent.name == "checkpoints" else parent


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
