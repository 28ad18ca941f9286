"""Putting the best checkpoint's weights back into the model when training stops early."""

from __future__ import annotations

from pathlib import Path

from lightning import LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

from flowdiff.checkpoints.reading import read_checkpoint


def best_checkpoint(trainer: Trainer, monitor: str) -> Path | None:
    """The best checkpoint that a ``ModelCheckpoint`` watching ``monitor`` wrote, if any."""
    for callback in trainer.checkpoint_callbacks:
        if isinstance(callback, ModelCheckpoint) and callback.monitor == monitor:
            path = callback.best_model_path
            if path and Path(path).is_file():
                return Path(path)
    return None


def restore_best_weights(trainer: Trainer, pl_module: LightningModule, monitor: str) -> Path | None:
    """Load the weights of the best checkpoint (by ``monitor``) into ``pl_module``.

    The module receives the checkpoint's ``state_dict``: the EMA weights when the run keeps an
    EMA (which Lightning's ``WeightAveraging`` also leaves in the model when training ends),
    else the raw ones. This is what ``GenerativeModule.load_from_checkpoint`` of that file gives.

    Returns:
        The checkpoint restored, or ``None`` (with a warning) when there is none to restore.
    """
    path = best_checkpoint(trainer, monitor)
    if path is None:
        rank_zero_warn(
            f"restore_best: no checkpoint of the best {monitor} to restore (add a ModelCheckpoint "
            f"with monitor={monitor} and save_top_k >= 1); keeping the last weights."
        )
        return None
    # the run's own checkpoint, read as safely as any other (its trust setting applies)
    trust = getattr(trainer.strategy.checkpoint_io, "trust_checkpoint", None)
    checkpoint = read_checkpoint(path, map_location=pl_module.device, trust=trust)
    pl_module.load_state_dict(checkpoint["state_dict"])
    rank_zero_info(
        f"Restored the best weights ({monitor} = {float(checkpoint_score(trainer, path)):.4f}, "
        f"epoch {checkpoint['epoch']}, step {checkpoint['global_step']}) from {path}."
    )
    return path


def checkpoint_score(trainer: Trainer, path: Path) -> float:
    """The monitored score ``ModelCheckpoint`` recorded for ``path`` (NaN if unknown)."""
    for callback in trainer.checkpoint_callbacks:
        if isinstance(callback, ModelCheckpoint) and str(path) in callback.best_k_models:
            return float(callback.best_k_models[str(path)])
    return float("nan")
