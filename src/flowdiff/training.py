"""Build everything from a composed config and train: what ``flowdiff-train`` runs."""

from __future__ import annotations

import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig

from flowdiff.atomic_checkpoint import AtomicCheckpointIO
from flowdiff.checkpoint import check_resume, trusted
from flowdiff.config_checks import preflight
from flowdiff.module import GenerativeModule


def build(cfg: DictConfig) -> tuple[L.LightningDataModule, GenerativeModule, L.Trainer]:
    """Instantiate data, model and trainer (with its callbacks and loggers) from ``cfg``."""
    datamodule = instantiate(cfg.data)
    model = instantiate(cfg.model)
    callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c]
    loggers = [instantiate(c) for c in (cfg.get("logger") or {}).values() if c]
    checkpoint_io = AtomicCheckpointIO(trusted(cfg.get("trust_checkpoint")))
    trainer = instantiate(
        cfg.trainer, callbacks=callbacks, logger=loggers or False, plugins=[checkpoint_io]
    )
    return datamodule, model, trainer


def train(cfg: DictConfig) -> dict[str, float]:
    """Seed, build and fit; resume from ``cfg.ckpt_path`` when set.

    Returns:
        The trainer's final callback metrics (e.g. ``val/loss``) as floats.
    """
    preflight(cfg)
    L.seed_everything(cfg.seed, workers=True)
    datamodule, model, trainer = build(cfg)
    check_resume(cfg.get("ckpt_path"), model, cfg.get("trust_checkpoint"))
    trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    return {key: float(value) for key, value in trainer.callback_metrics.items()}
