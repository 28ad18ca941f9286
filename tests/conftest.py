"""Shared fixtures: compose the real Hydra configs, forced onto the CPU with tiny limits."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from flowdiff.cli.config_dir import config_dir

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


def compose_config(
    config_name: str = "train", overrides: Sequence[str] = (), output_dir: Path | None = None
) -> DictConfig:
    """Compose ``configs/<config_name>.yaml`` as ``flowdiff-train`` would, with its run folder
    at ``output_dir``."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name, overrides=list(overrides), return_hydra_config=True)
    if output_dir is not None:
        with open_dict(cfg):
            cfg.hydra.runtime.output_dir = str(output_dir)
            cfg.hydra.job.config_name = config_name
    HydraConfig().set_config(cfg)
    return cfg


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., DictConfig]:
    """``make_config(config_name, *overrides)``: a tiny CPU config writing under ``tmp_path``."""

    def make(config_name: str = "train", *overrides: str) -> DictConfig:
        return compose_config(config_name, [*TINY, *overrides], output_dir=tmp_path / "run")

    yield make
    GlobalHydra.instance().clear()
