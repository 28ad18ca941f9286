"""Quiet fitting from Python: progress and the result, not Lightning's own chatter.

A ``Trainer`` announces itself at ``INFO`` through Lightning's rank-zero logger: the devices it
found ("GPU available: ..."), an advertisement for a cloud logger, "Loading `train_dataloader`
to estimate ...", why ``fit`` stopped; ``seed_everything`` says which seed it set, and the
model summary prints a table. :func:`flowdiff.training.fit` turns these off by default for
Python callers (``quiet=True``): the progress bar (a callback) stays, warnings and errors stay,
and ``fit`` reports the result itself when the trainer is done. ``flowdiff-train`` keeps them
(``quiet=False``): a console run shows its devices and its model.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from omegaconf import DictConfig, open_dict

#: The loggers Lightning's ``rank_zero_info`` writes to (pytorch and fabric, both spellings).
LIGHTNING_LOGGERS = (
    "lightning.pytorch",
    "lightning.fabric",
    "pytorch_lightning",
    "lightning_fabric",
)


@contextlib.contextmanager
def lightning_info_off(quiet: bool = True) -> Iterator[None]:
    """While inside: Lightning's loggers at ``WARNING`` (``quiet``), their levels restored after.

    Args:
        quiet: ``False`` leaves every level as it is.
    """
    loggers = [logging.getLogger(name) for name in LIGHTNING_LOGGERS] if quiet else []
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(max(logger.getEffectiveLevel(), logging.WARNING))
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def without_model_summary(trainer_cfg: DictConfig) -> DictConfig:
    """``trainer_cfg`` with ``enable_model_summary=false`` unless the config sets it."""
    if trainer_cfg.get("enable_model_summary") is None:
        with open_dict(trainer_cfg):
            trainer_cfg.enable_model_summary = False
    return trainer_cfg
