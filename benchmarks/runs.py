"""Training runs for the training-operations benchmarks: the real Hydra configs, composed as
``flowdiff-train`` composes them, trained in this process."""

from __future__ import annotations

import logging
import platform
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from lightning import Callback, Trainer, seed_everything
from omegaconf import DictConfig, open_dict

from flowdiff.cli.config_dir import config_dir
from flowdiff.training import build

QUIET = [
    "callbacks.progress_bar=null",
    "+trainer.enable_progress_bar=false",
    "+trainer.enable_model_summary=false",
]


def compose_run(overrides: Sequence[str], output_dir: Path, config_name: str = "train"):
    """The config of ``flowdiff-train <overrides>`` writing into ``output_dir``."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir(), version_base="1.3"):
        cfg = compose(config_name, overrides=[*QUIET, *overrides], return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(output_dir)
        cfg.hydra.job.config_name = config_name
    HydraConfig().set_config(cfg)
    return cfg


def fit(
    overrides: Sequence[str], output_dir: Path, extra_callbacks: Sequence[Callback] = ()
) -> tuple[DictConfig, Trainer]:
    """Seed, build and fit like ``flowdiff.training.train``, optionally with more callbacks."""
    cfg = compose_run(overrides, output_dir)
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


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return (
        f"{cpu}, {torch.get_num_threads()} torch thread(s), Python {platform.python_version()}, "
        f"torch {torch.__version__}"
    )
