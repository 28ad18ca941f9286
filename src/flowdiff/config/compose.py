"""Composing flowdiff's Hydra configs from Python, as ``flowdiff-train`` does on the command line.

Used by notebooks, benchmarks and tests to build a run without the CLI:

    cfg = compose_config("train", ["experiment=toy2d", "max_epochs=5"], output_dir="outputs/toy")
    metrics = flowdiff.training.train(cfg)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf, open_dict

from flowdiff.config.location import config_dir
from flowdiff.config.null_groups import null_groups_removed
from flowdiff.config.settings import resolve_settings
from flowdiff.errors import ConfigError, InputTypeError


def compose_config(
    config_name: str = "train",
    overrides: Sequence[str] = (),
    output_dir: str | Path | None = None,
) -> DictConfig:
    """Compose ``configs/<config_name>.yaml`` with command-line style ``overrides``.

    Hydra's runtime is set up as the CLI would, so ``${hydra:runtime.output_dir}`` and
    ``${hydra:job.config_name}`` resolve when the config is instantiated.

    Args:
        config_name: a top-level config, e.g. ``train`` or ``train_hf_diffusion``.
        overrides: e.g. ``["model/network=unet", "batch_size=64"]``; ``logger=null`` (any
            ``<group>=null``) leaves the group out, as on the command line.
        output_dir: the run folder; defaults to ``outputs/<run_name>`` for training configs and
            the working directory for the others (``sample``, ``eval``).

    Returns:
        The composed config, with its ``hydra`` node and its shortcuts resolved
        (:func:`~flowdiff.config.settings.resolve_settings`).
    """
    overrides = check_arguments(config_name, overrides, output_dir)
    GlobalHydra.instance().clear()
    overrides = null_groups_removed(list(overrides), config_dir())  # logger=null: ~logger
    try:
        with initialize_config_dir(config_dir(), version_base="1.3"):
            cfg = compose(config_name, overrides=list(overrides), return_hydra_config=True)
    except HydraException as error:  # Hydra's own words, on one line, without its search path
        words = str(error).split("Config search path:")[0].split()
        raise ConfigError(f"compose_config({config_name!r}, ...): {' '.join(words)}") from error
    with open_dict(cfg):
        cfg.hydra.job.config_name = config_name
    if output_dir is None:
        HydraConfig().set_config(cfg)  # run_name may interpolate ${hydra:job.config_name}
        output_dir = Path("outputs") / str(cfg.run_name) if "run_name" in cfg else Path.cwd()
        OmegaConf.set_readonly(cfg.hydra, False)  # set_config froze it
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(output_dir)
    HydraConfig().set_config(cfg)
    return resolve_settings(cfg)


def check_arguments(config_name, overrides, output_dir) -> list[str]:
    """``config_name`` a string, ``overrides`` a list of ``key=value`` strings (a bare string
    would be read letter by letter), ``output_dir`` a path or ``None``.

    Raises:
        InputTypeError: naming the argument and what to give.
    """
    if not isinstance(config_name, str):
        raise InputTypeError(
            f"config_name must be a name such as 'train', not a {type(config_name).__name__}."
        )
    listed = None if isinstance(overrides, str | bytes) else _listed(overrides)
    if listed is None or not all(isinstance(o, str) for o in listed):
        raise InputTypeError(
            f"overrides={overrides!r} must be a list of 'key=value' strings, e.g. "
            "['trainer=cpu', 'max_epochs=5']."
        )
    if output_dir is not None and not isinstance(output_dir, (str, os.PathLike)):
        raise InputTypeError(f"output_dir must be a folder path or None, not {output_dir!r}.")
    return listed


def _listed(overrides) -> list | None:
    return list(overrides) if isinstance(overrides, Iterable) else None
