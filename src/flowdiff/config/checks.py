"""Up-front checks of a composed training config, before any object is built or file written.

Constructors check their own arguments (an unknown scheduler or solver name, a sampler that
cannot serve the path); this module catches what would otherwise surface deep inside torch or
Lightning, or after minutes of work: wrong types, out-of-range numbers, sizes that do not fit,
an output folder that cannot be written.
"""

from __future__ import annotations

import os
from numbers import Real
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig

from flowdiff.checkpoints.run_folders import nearest_existing
from flowdiff.config.value_types import check_value_types
from flowdiff.errors import ConfigError, OutputError


def _number(cfg: DictConfig, key: str, fix: str, low: float, inclusive: bool) -> None:
    """Raise unless ``cfg.<key>`` (when set) is a number above ``low`` (or equal, if inclusive)."""
    value = _select(cfg, key)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ConfigError(f"{key}={value!r} is not a number; {fix}.")
    if value < low or (value == low and not inclusive):
        bound = f">= {low:g}" if inclusive else f"> {low:g}"
        raise ConfigError(f"{key}={value!r} is out of range (must be {bound}); {fix}.")


def _integer(cfg: DictConfig, key: str, fix: str, low: int) -> None:
    value = _select(cfg, key)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{key}={value!r} must be an integer >= {low}; {fix}.")


def _select(cfg: DictConfig, key: str) -> Any:
    node: Any = cfg
    for part in key.split("."):
        if not isinstance(node, DictConfig) or part not in node:
            return None
        node = node[part]
    return node


def check_numbers(cfg: DictConfig) -> None:
    """Learning rate, batch size, epochs, steps and fractions: type and range."""
    _number(cfg, "base_lr", "give a positive learning rate such as base_lr=2e-3", 0.0, False)
    _number(cfg, "model.optimizer.lr", "give a positive learning rate, e.g. 2e-3", 0.0, False)
    _number(cfg, "model.optimizer.weight_decay", "use 0.0 for none", 0.0, True)
    _integer(cfg, "batch_size", "use batch_size=128 or another count of samples", 1)
    _integer(cfg, "data.batch_size", "use batch_size=128 or another count of samples", 1)
    _integer(cfg, "seed", "use an integer such as seed=42", 0)
    max_epochs = _select(cfg, "max_epochs")
    if max_epochs is not None and max_epochs != -1:
        _integer(cfg, "max_epochs", "use a positive count, or -1 for no limit", 1)
    check_max_time(_select(cfg, "max_time"), "max_time")
    fraction = _select(cfg, "data.val_fraction")
    if fraction is not None and (not isinstance(fraction, Real) or not 0 < fraction < 1):
        raise ConfigError(
            f"data.val_fraction={fraction!r} must be a number strictly between 0 and 1, "
            "e.g. data.val_fraction=0.2."
        )


def _boolean(cfg: DictConfig, key: str) -> None:
    value = _select(cfg, key)
    if value is not None and not isinstance(value, bool):
        raise ConfigError(f"{key}={value!r} must be true or false.")


def check_job_options(cfg: DictConfig) -> None:
    """``flowdiff-sample``'s and ``flowdiff-eval``'s own settings (counts, seed, switches),
    before the checkpoint is loaded.

    Raises:
        ConfigError: e.g. ``num_samples=abc`` or ``ema=maybe``, named with the fix.
    """
    _integer(cfg, "num_samples", "use num_samples=64 or another count (null: the default)", 1)
    _integer(cfg, "batch_size", "samples per network batch, e.g. batch_size=1000", 1)
    _integer(cfg, "seed", "use an integer such as seed=0", 0)
    steps = "use sampling_steps=20 or another count (null: the steps it was trained with)"
    _integer(cfg, "sampling_steps", steps, 1)
    _integer(cfg, "nll.num_samples", "held-out samples scored, e.g. nll.num_samples=500", 0)
    switches = ("ema", "tensorboard", "h5", "per_sample_png", "save_trajectory")
    for key in (*switches, "nll.enabled", "calibration.enabled"):
        _boolean(cfg, key)
    sweep = _select(cfg, "sweep")
    if sweep is not None and not isinstance(sweep, bool | ListConfig):
        raise ConfigError(
            f"sweep={sweep!r} must be true (the family's settings under sweeps), false, or a "
            "list of sampler settings, e.g. 'sweep=[{steps: 4}, {steps: 8}]'."
        )


def check_max_time(value: Any, key: str) -> None:
    """A wall-time budget as Lightning's ``Trainer(max_time=...)`` reads it: ``DD:HH:MM:SS``
    (a mapping such as ``{minutes: 2}`` passes through to Lightning)."""
    if value is None or isinstance(value, DictConfig):
        return
    parts = str(value).split(":")
    if isinstance(value, str) and len(parts) == 4 and all(p.isdigit() for p in parts):
        return
    raise ConfigError(
        f"{key}={value!r} is not a wall time DD:HH:MM:SS; e.g. {key}=00:00:02:00 for 2 minutes "
        "(or null for no limit)."
    )


def check_sizes(cfg: DictConfig) -> None:
    """A transformer's ``patch_size`` must tile the image (``data.image_size`` or the last two
    entries of ``data.shape``)."""
    patch = _select(cfg, "model.network.patch_size")
    if patch is None:
        return
    if isinstance(patch, bool) or not isinstance(patch, int) or patch < 1:
        raise ConfigError(f"model.network.patch_size={patch!r} must be a positive integer.")
    size = _select(cfg, "data.image_size")
    sizes = [size, size] if size is not None else list(_select(cfg, "data.shape") or [])[-2:]
    for key, value in zip(("height", "width"), sizes, strict=False):
        if isinstance(value, int) and value % patch:
            raise ConfigError(
                f"model.network.patch_size={patch} does not divide the image {key} {value}; "
                f"choose a patch_size that divides {value} or resize the images "
                "(data.image_size)."
            )


def check_output_folder(folder: str | Path, resuming: bool) -> None:
    """The run folder must be writable, and must not hold an earlier run's checkpoints unless
    this run resumes.

    Raises:
        OutputError: the folder (or its nearest existing parent) is not writable, or a fresh run
            would overwrite ``checkpoints/`` of an earlier one.
    """
    folder = Path(folder)
    existing = nearest_existing(folder)
    if not existing.is_dir():
        raise OutputError(
            f"output folder {str(folder)!r} cannot be made: {str(existing)!r} is a file; choose "
            "another folder with hydra.run.dir=<folder> or run_name=<name>."
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(
            f"output folder {str(folder)!r} is not writable ({str(existing)!r} denies writing); "
            "run from a writable folder or choose another one with hydra.run.dir=<folder>."
        )
    checkpoints = folder / "checkpoints"
    if not resuming and checkpoints.is_dir() and any(checkpoints.glob("*.ckpt")):
        raise OutputError(
            f"{str(checkpoints)!r} already holds checkpoints of an earlier run; resume it with "
            f"ckpt_path={checkpoints / 'last.ckpt'}, or choose another run_name so nothing is "
            "overwritten."
        )


def check_config(cfg: DictConfig) -> None:
    """Every up-front check of a composed ``flowdiff-train`` config.

    Raises:
        ConfigError: a value of the wrong type or out of range, named by its key.
    """
    check_numbers(cfg)
    check_value_types(cfg)
    check_sizes(cfg)


def preflight(cfg: DictConfig) -> None:
    """:func:`check_config`, then :func:`check_output_folder` on the Hydra run folder (when the
    config was composed by Hydra)."""
    from hydra.core.hydra_config import HydraConfig

    check_config(cfg)
    if HydraConfig.initialized():
        resuming = cfg.get("ckpt_path") is not None
        check_output_folder(HydraConfig.get().runtime.output_dir, resuming)
