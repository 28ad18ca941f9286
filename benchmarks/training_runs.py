"""Training runs for the training-operations benchmarks: the real Hydra configs, composed as
``flowdiff-train`` composes them (:func:`flowdiff.config.compose_config`), trained in this
process."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from pathlib import Path

from lightning import Callback, Trainer, seed_everything
from omegaconf import DictConfig

from flowdiff.config import compose_config
from flowdiff.training import build

QUIET = [
    "callbacks.progress_bar=null",
    "+trainer.enable_progress_bar=false",
    "+trainer.enable_model_summary=false",
]


def fit(
    overrides: Sequence[str], output_dir: Path, extra_callbacks: Sequence[Callback] = ()
) -> tuple[DictConfig, Trainer]:
    """Seed, build and fit like ``flowdiff.training.train``, optionally with more callbacks."""
    cfg = compose_config("train", [*QUIET, *overrides], output_dir=output_dir)
    seed_everything(cfg.seed, workers=True)
    datamodule, model, trainer = build(cfg)
    trainer.callbacks.extend(extra_callbacks)
    trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    return cfg, trainer


def quiet() -> None:
    """Keep Lightning's per-run chatter out of the benchmark's output."""
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
