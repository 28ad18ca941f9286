"""Every user-facing setting's names, and where its value is used: the one place that maps them.

A setting has one home, the key of the object that owns (and validates) the value, e.g.
``model.sampler.steps``. A few also have a top-level *shortcut* that the seeds' commands use
(``sampling_steps=20``): the home key is ``null`` in the group configs, and :func:`resolve_settings`
fills it from the shortcut; a value given at the home key itself wins over the shortcut, as Hydra's
interpolations did before. Renamed keys still work: :func:`resolve_settings` moves their value to
the new key with a one-line deprecation message.

Hydra interpolations (``${batch_size}``, ``${base_lr}``, ``${max_epochs}``) route the remaining
top-level keys; :data:`INTERPOLATED` lists them so that this module names every user-facing setting.
"""

from __future__ import annotations

import re
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from flowdiff.errors import warn_renamed

#: shortcut -> (home key it fills when that key is null, value when the shortcut is absent)
SHORTCUTS: dict[str, tuple[str, Any]] = {
    "sampling_steps": ("model.sampler.steps", None),  # every sampler's number of steps
    "multistep": ("trainer.accumulate_grad_batches", 1),  # gradient accumulation
    "coupling": ("model.path.coupling", "independent"),  # flow matching's noise-data pairing
    "time_sampling": ("model.path.time_sampling", "uniform"),  # flow matching's training times
    # ODE sampler's step ends (i / steps) ** p; no default here: sample and eval configs merge
    # onto the checkpoint's sampler, which may be another kind (train.yaml sets 1.0)
    "grid_power": ("model.sampler.grid_power", None),
    "ema_decay": ("callbacks.ema.decay", 0.999),  # EMA of the weights
}

#: top-level keys routed by a Hydra interpolation in the group configs -> the keys reading them
INTERPOLATED: dict[str, tuple[str, ...]] = {
    "batch_size": ("data.batch_size",),
    "base_lr": ("model.optimizer.lr",),
    "max_epochs": ("trainer.max_epochs",),
    "max_time": ("trainer.max_time",),
    "deterministic": ("trainer.deterministic",),
    "run_name": ("hydra.run.dir", "logger.*.name"),
}

#: old key -> new key: still accepted, with a one-line deprecation message
RENAMED: dict[str, str] = {
    "model.sampler.num_inference_steps": "model.sampler.steps",
    "num_inference_steps": "steps",  # DiffusersSampler's argument (Python and old checkpoints)
}


def _parent(cfg: DictConfig, key: str) -> tuple[DictConfig | None, str]:
    head, _, leaf = key.rpartition(".")
    parent = OmegaConf.select(cfg, head) if head else cfg
    return (parent if isinstance(parent, DictConfig) else None), leaf


def _move_renamed(cfg: DictConfig) -> None:
    for old, new in RENAMED.items():
        parent, leaf = _parent(cfg, old)
        if "." not in old or parent is None or leaf not in parent:
            continue
        value = parent[leaf]
        with open_dict(parent):
            del parent[leaf]
        if value is not None:
            warn_renamed(old, new, stacklevel=4)
            new_parent, new_leaf = _parent(cfg, new)
            with open_dict(new_parent):
                new_parent[new_leaf] = value


def resolve_settings(cfg: DictConfig) -> DictConfig:
    """Fill each home key left ``null`` from its shortcut, and move renamed keys to their new
    names; in place, idempotent. A home key whose parent node is absent (no EMA callback, a
    diffusion path without ``coupling``) is left alone.

    Args:
        cfg: a composed ``train``, ``sample`` or ``eval`` config.

    Returns:
        ``cfg`` itself.
    """
    _move_renamed(cfg)
    for shortcut, (home, default) in SHORTCUTS.items():
        parent, leaf = _parent(cfg, home)
        if parent is None or leaf not in parent or parent[leaf] is not None:
            continue
        value = cfg.get(shortcut, default)
        if value is not None:
            parent[leaf] = value
    return cfg


def spelled_as_typed(message: str, cfg: DictConfig | None) -> str:
    """``message`` with a home key written as the shortcut the user gave (``model.sampler.steps=0``
    -> ``sampling_steps=0`` after ``sampling_steps=0``), so an error names what was typed."""
    if cfg is None:
        return message
    for shortcut, (home, _) in SHORTCUTS.items():
        value = OmegaConf.select(cfg, shortcut, default=None, throw_on_missing=False)
        if value is None or isinstance(value, (DictConfig, list)):
            continue
        if re.search(rf"(?<![\w.]){re.escape(f'{home}={value}')}(?![\w.])", message):
            message = re.sub(rf"(?<![\w.]){re.escape(home)}=", f"{shortcut}=", message)
    return message
