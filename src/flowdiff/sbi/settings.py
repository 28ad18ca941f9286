"""The settings :class:`~flowdiff.sbi.PosteriorEstimator` takes by name: where each lives in the
training config, and the one check of each value, made before anything is trained.

:data:`SETTINGS` is the only place that maps a Python argument name to its config key; the
command line sets the same keys (``flowdiff-train data=arrays batch_size=64
callbacks.early_stopping.patience=40 ...``).
"""

from __future__ import annotations

import math
import numbers
import re
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from flowdiff.compat import lightning_precisions
from flowdiff.config.settings import RENAMED, SHORTCUTS
from flowdiff.errors import ConfigError, DeviceError, warn_renamed

#: Argument name -> config key (``network.`` keys are relative to the network's own config).
SETTINGS = {
    "batch_size": "batch_size",
    "max_epochs": "max_epochs",
    "base_lr": "base_lr",
    "seed": "seed",
    "steps": "model.sampler.steps",
    "hidden": "network.hidden",
    "depth": "network.depth",
    "dropout": "network.dropout",
    "patience": "callbacks.early_stopping.patience",
    "val_fraction": "data.val_fraction",
    "accelerator": "trainer.accelerator",
    "devices": "trainer.devices",
    "precision": "trainer.precision",
}

#: Older names still taken, with a deprecation warning: old name -> current name.
ALIASES = {"sampling_steps": "steps"}

#: Lightning's accelerator names
_ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps", "tpu")
_POSITIVE_INT = ("batch_size", "max_epochs", "steps", "hidden", "patience")
_DD_HH_MM_SS = re.compile(r"^\d{1,2}:\d{1,2}:\d{1,2}:\d{1,2}$")


def budget_settings(simulations: int) -> dict[str, int]:
    """Batch size and patience scaled with the number of simulations (issue 26; chosen in
    docs/benchmarks.md#sbibm-tasks-against-sbi): ``batch_size`` the power of two nearest
    ``simulations / 40`` within [32, 512] (about 36 steps an epoch on the 90% training split),
    ``patience`` ``750 / sqrt(simulations)`` validations within [10, 50] (short epochs'
    validation losses are noisy). 1,000 -> batch 32, patience 24; 10,000 -> 256, 10;
    100,000 -> 512, 10 (``simulations`` >= 1, as ``fitting.check_split`` ensures). The network
    stays 128 x 3: 256 x 4 was better on one sbibm task at 10k and worse on another. Patience
    1500 / sqrt(n) (47 at 1,000) gave the same best weights on all 12 task x budget cells
    measured, in 10-28% more CPU time at 1,000 simulations; 375 / sqrt(n) stopped too early on
    4 of 8 tasks at 1,000.
    """
    batch = 2 ** round(math.log2(max(simulations / 40, 1)))
    patience = round(750 / math.sqrt(simulations))
    return {"batch_size": min(max(batch, 32), 512), "patience": min(max(patience, 10), 50)}


def unset_budget_settings(
    simulations: int, given: dict[str, Any], overrides: list[str] | tuple[str, ...] = ()
) -> dict[str, int]:
    """:func:`budget_settings` for the names neither ``given`` (named settings) nor
    ``overrides`` (``key=value`` strings) set: what the user chose always wins."""
    overridden = {o.split("=", 1)[0].lstrip("+~") for o in overrides}
    keys = {k: v.replace("network.", "model.network.", 1) for k, v in SETTINGS.items()}
    return {
        name: value
        for name, value in budget_settings(simulations).items()
        if name not in given and keys[name] not in overridden
    }


#: sampler steps of a diffusion posterior (``PosteriorEstimator(path="diffusion")``) where no one
#: sets them; flow matching keeps the ``data=arrays`` preset's 8 midpoint steps (16 calls). C2ST
#: at 8 / 16 / 32 steps, 10,000 simulations: linear_gaussian 0.687 / 0.553 / 0.537, growth
#: 0.704 / 0.600 / 0.538 (docs/benchmarks.md, posterior estimation against sbi).
DIFFUSION_STEPS = 16
#: every command-line name of the sampler's steps (config/settings.py's table: the shortcut, its
#: home key and the renamed keys that move there)
_STEPS_KEYS = {
    name
    for shortcut, (home, _) in SHORTCUTS.items()
    if home == SETTINGS["steps"]
    for name in (shortcut, home, *(old for old, new in RENAMED.items() if new == home))
}


def unset_path_settings(
    path: Any, given: dict[str, Any], overrides: list[str] | tuple[str, ...] = ()
) -> dict[str, int]:
    """``steps`` :data:`DIFFUSION_STEPS` for ``path="diffusion"`` when neither ``given`` (named
    settings) nor ``overrides`` set the steps; nothing for other paths."""
    overridden = {o.split("=", 1)[0].lstrip("+~") for o in overrides}
    if path != "diffusion" or "steps" in given or overridden & _STEPS_KEYS:
        return {}
    return {"steps": DIFFUSION_STEPS}


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_setting(name: str, value: Any) -> None:
    """Refuse a value of the wrong type or out of range, naming the argument and the fix.

    Raises:
        ConfigError: e.g. ``hidden=0`` or ``base_lr="fast"``.
    """
    if name in _POSITIVE_INT and not (_is_int(value) and value >= 1):
        raise ConfigError(f"{name}={value!r} must be a whole number >= 1.")
    if name == "depth" and not (_is_int(value) and value >= 0):
        raise ConfigError(f"depth={value!r} must be a whole number >= 0 (residual blocks).")
    if name == "seed" and not _is_int(value):
        raise ConfigError(f"seed={value!r} must be a whole number.")
    if name == "base_lr" and not (_is_real(value) and math.isfinite(value) and value > 0):
        raise ConfigError(f"base_lr={value!r} must be a positive number, e.g. 1e-3.")
    if name == "dropout" and not (_is_real(value) and 0 <= value < 1):
        raise ConfigError(f"dropout={value!r} must be a number in [0, 1).")
    if name == "val_fraction" and not (_is_real(value) and 0 < value < 1):
        raise ConfigError(
            f"val_fraction={value!r} must be a number in (0, 1): the share of simulations "
            "held out to stop training early, e.g. 0.1."
        )
    if name in ("accelerator", "precision") and not isinstance(value, (str, int)):
        raise ConfigError(f"{name}={value!r} must be a string such as 'cpu' or 'bf16-mixed'.")
    if name in ("accelerator", "precision"):
        check_trainer_choice(name, value)


def check_trainer_choice(name: str, value: Any) -> None:
    """``accelerator``/``precision`` among Lightning's names, and a GPU that is there, before
    the trainer is built (Lightning's own error comes inside Hydra's, after composing).

    Raises:
        ConfigError: an unknown name.
        DeviceError: a GPU asked for where there is none.
    """
    choices = _ACCELERATORS if name == "accelerator" else lightning_precisions()
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is not one of {sorted(set(map(str, choices)))}.")
    if name == "accelerator" and value in ("gpu", "cuda") and not torch.cuda.is_available():
        raise DeviceError(
            f"accelerator={value!r} asks for a GPU, but this machine has none that torch can "
            "use; use accelerator='cpu' (or 'auto': a GPU when there is one)."
        )


def apply_settings(cfg: DictConfig, values: dict[str, Any], network_key: str) -> None:
    """Write each checked value to its config key; ``network_key`` is where the network's
    own config sits (``model.network``)."""
    for name, value in values.items():
        key = SETTINGS[name].replace("network.", f"{network_key}.", 1)
        parent, _, leaf = key.rpartition(".")
        node = OmegaConf.select(cfg, parent) if parent else cfg
        if not isinstance(node, DictConfig) or leaf not in node:
            raise ConfigError(
                f"{name}={value!r}: this run's config has no {key} (the network or path "
                "chosen does not take it); leave it out, or pass overrides=['<key>=<value>']."
            )
        OmegaConf.update(cfg, key, value, merge=False)


def wall_time(max_time: Any) -> str:
    """``max_time`` as the ``DD:HH:MM:SS`` Lightning reads: seconds (a positive number, rounded
    up to whole seconds) or a ``DD:HH:MM:SS`` string as the command line takes it.

    Raises:
        ConfigError: anything else, zero or a negative time.
    """
    if isinstance(max_time, str):
        if not _DD_HH_MM_SS.match(max_time.strip()):
            raise ConfigError(
                f"max_time={max_time!r}: give seconds (e.g. 300) or 'DD:HH:MM:SS' "
                "(e.g. '00:00:05:00')."
            )
        days, hours, minutes, secs = (int(part) for part in max_time.strip().split(":"))
        seconds = ((days * 24 + hours) * 60 + minutes) * 60 + secs
    elif _is_real(max_time) and math.isfinite(max_time):
        seconds = max_time
    else:
        raise ConfigError(
            f"max_time={max_time!r}: give seconds (e.g. 300) or 'DD:HH:MM:SS' (e.g. '00:00:05:00')."
        )
    if seconds <= 0:
        raise ConfigError(f"max_time={max_time!r} must be a positive number of seconds.")
    minutes, secs = divmod(math.ceil(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return f"{days:02d}:{hours:02d}:{minutes:02d}:{secs:02d}"


def check_part(name: str, value: Any, kind: type, optional: bool = False) -> None:
    if (optional and value is None) or isinstance(value, (str, kind)):
        return
    raise ConfigError(
        f"{name}={type(value).__name__} must be a config name (a string) or a "
        f"{kind.__name__}{' (or None)' if optional else ''}."
    )


def renamed_settings(
    deprecated: dict[str, Any], settings: dict[str, Any], known: bool = False
) -> dict[str, Any]:
    """Old argument names, each with a one-line deprecation warning (and, when ``known``,
    current names as they are); anything else refused."""
    renamed = {}
    for old, value in deprecated.items():
        if known and old in SETTINGS:
            renamed[old] = value
            continue
        if old not in ALIASES:
            raise ConfigError(
                f"PosteriorEstimator option {old}={value!r} is not a setting; use one of "
                f"{sorted(SETTINGS)}, or pass overrides=['<key>=<value>']."
            )
        new = ALIASES[old]
        warn_renamed(f"PosteriorEstimator({old}=)", f"PosteriorEstimator({new}=)", stacklevel=4)
        if new not in settings:
            renamed[new] = value
    return renamed
