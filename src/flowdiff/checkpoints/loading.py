"""A trained run seen from one of its checkpoints: the run folder and the training config beside
it, and the datamodule that config builds. The model itself is read by
:func:`flowdiff.model.loading.load_model` (still importable from here, on first use, so that this
package never imports :mod:`flowdiff.model` when it is imported)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from lightning import LightningDataModule
from omegaconf import DictConfig, OmegaConf


def run_folder(ckpt_path: str | Path) -> Path:
    """The run folder of a checkpoint at ``<run>/checkpoints/<name>.ckpt`` (else its folder)."""
    ckpt_path = Path(ckpt_path)
    parent = ckpt_path.parent
    return parent.parent if parent.name == "checkpoints" else parent


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


def __getattr__(name: str) -> Any:
    # load_model and LoadedModel moved to flowdiff.model.loading; the old import path still works
    if name in ("load_model", "LoadedModel"):
        from flowdiff.model import loading

        return getattr(loading, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
