"""Shared fixtures: compose the real Hydra configs, forced onto the CPU with tiny limits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

from flowdiff.cli.config_dir import config_dir
from flowdiff.config import compose_config

CONFIG_DIR = Path(config_dir())

#: Keeps a training run to seconds on a CPU.
TINY = [
    "trainer=cpu",
    "max_epochs=1",
    "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=1",
    "callbacks.progress_bar=null",
    "sampling_steps=2",
]


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., DictConfig]:
    """``make_config(config_name, *overrides)``: a tiny CPU config writing under ``tmp_path``."""

    def make(config_name: str = "train", *overrides: str) -> DictConfig:
        return compose_config(config_name, [*TINY, *overrides], output_dir=tmp_path / "run")

    yield make
    GlobalHydra.instance().clear()
