"""A Hydra callback that checks a sweep's setup before the sweeper starts.

Hydra's Optuna sweeper (hydra-optuna-sweeper 1.2/1.3) needs Optuna 2.10, whose database storage
(``hydra.sweeper.storage=sqlite:///optuna.db``) fails on SQLAlchemy 2 with a bare
``AssertionError`` from deep inside Optuna. The ``optuna`` extra pins ``sqlalchemy<2``; this check
names the fix when an environment has the newer SQLAlchemy anyway.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from flowdiff.cli.errors import exit_now
from flowdiff.errors import ConfigError

#: The SQLAlchemy versions Optuna 2.x's database storage works with.
OPTUNA_SQLALCHEMY = "sqlalchemy>=1.4.2,<2"


def _major(package: str) -> int | None:
    try:
        return int(metadata.version(package).split(".")[0])
    except (metadata.PackageNotFoundError, ValueError):
        return None


def check_optuna_storage(storage: Any) -> None:
    """Refuse a database storage for Optuna 2.x when SQLAlchemy 2 is installed.

    Args:
        storage: the value of ``hydra.sweeper.storage`` (``None``: in-memory, always fine).

    Raises:
        ConfigError: naming the installed versions and the one-line fix.
    """
    if not storage or _major("optuna") != 2 or (_major("sqlalchemy") or 0) < 2:
        return
    raise ConfigError(
        f"hydra.sweeper.storage={storage}: Optuna {metadata.version('optuna')} (what Hydra's "
        f"Optuna sweeper supports) cannot use SQLAlchemy {metadata.version('sqlalchemy')}; "
        f"install a version it can: pip install '{OPTUNA_SQLALCHEMY}' (flowdiff[optuna] pins it), "
        "or drop the storage (hydra.sweeper.storage=null keeps the study in memory)."
    )


class SweepGuard(Callback):
    """Checks the sweeper's settings when a ``--multirun`` starts
    (:func:`check_optuna_storage`)."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        sweeper = OmegaConf.select(config, "hydra.sweeper._target_", default="") or ""
        if "optuna" not in str(sweeper).lower():
            return
        try:
            check_optuna_storage(OmegaConf.select(config, "hydra.sweeper.storage", default=None))
        except ConfigError as error:
            exit_now(error)  # raising would only make Hydra warn and carry on
