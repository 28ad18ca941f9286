"""Shared fixtures: compose the real Hydra configs, forced onto the CPU with tiny limits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

from tests.helpers.config import TINY, compose_config


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., DictConfig]:
    """``make_config(config_name, *overrides)``: a tiny CPU config writing under ``tmp_path``."""

    def make(config_name: str = "train", *overrides: str) -> DictConfig:
        return compose_config(config_name, [*TINY, *overrides], output_dir=tmp_path / "run")

    yield make
    GlobalHydra.instance().clear()
