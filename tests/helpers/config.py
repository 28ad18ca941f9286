"""Where things are and how small a test run is: the repository root, the Hydra configs, and the
overrides that keep a training run to seconds on a CPU."""

from __future__ import annotations

from pathlib import Path

from flowdiff.config import compose_config
from flowdiff.config.location import config_dir

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
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

__all__ = ["CONFIG_DIR", "REPO", "SRC", "TINY", "compose_config"]
