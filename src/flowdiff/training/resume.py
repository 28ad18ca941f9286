"""Resuming from ``ckpt_path``: the checkpoint must fit the configured network, and its optimizer
and learning-rate schedule must be the configured ones, checked before training starts.

A checkpoint carries the optimizer's state (Adam's moments, SGD's momentum buffers...) and the
schedule's; Lightning restores them into whatever the config builds, and another optimizer or
schedule fails there with a bare key (``error: momentum``, ``error: lr_lambdas``) or, worse,
continues with state that means something else. :func:`check_same_optimizer` compares what the
checkpoint records (:func:`optimizer_record`; for checkpoints older than the record, the
optimizer state's keys) with the config and explains the difference. ``resume_weights_only=true``
is the way to continue with a new optimizer or schedule: the model starts from the checkpoint's
(raw) weights with fresh optimizer state, step counter and schedule, in a new run folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from flowdiff.checkpoints.reading import check_matches, read_checkpoint
from flowdiff.checkpoints.weights import RAW_KEY
from flowdiff.errors import ConfigError
from flowdiff.model.checkpoint_record import optimizer_record

#: ``ckpt_path`` values Lightning resolves itself inside ``fit``
LIGHTNING_NAMES = ("last", "best", "hpc")


def _name(target: str | None) -> str | None:
    return None if target is None else target.rpartition(".")[2]


def _state_keys(checkpoint: dict[str, Any]) -> set[str] | None:
    states = checkpoint.get("optimizer_states") or []
    if not states or not states[0].get("param_groups"):
        return None
    return set(states[0]["param_groups"][0]) - {"params", "initial_lr", "lr"}


def _built_keys(factory: Any) -> set[str] | None:
    try:
        optimizer = factory([torch.nn.Parameter(torch.zeros(1))])
    except Exception:  # a factory that needs more than parameters: nothing to compare
        return None
    return set(optimizer.param_groups[0]) - {"params", "initial_lr", "lr"}


def _differences(checkpoint: dict[str, Any], module: Any) -> list[str]:
    """``"optimizer: A -> B"`` lines for what changed between the checkpoint and ``module``."""
    now = optimizer_record(module)
    saved = checkpoint.get("flowdiff", {}).get("optimizer")
    if saved is not None:  # compared by name, so that a class or function may move
        return [
            f"{key} {saved.get(key)} -> {now[key]}"
            for key in now
            if _name(saved.get(key)) != _name(now[key])
        ]
    changes = []  # an older checkpoint: compare the structure of the saved state
    saved_keys, built_keys = _state_keys(checkpoint), _built_keys(module.optimizer_factory)
    if saved_keys is not None and built_keys is not None and saved_keys != built_keys:
        changes.append(f"optimizer (settings {sorted(saved_keys)} -> {sorted(built_keys)})")
    had = bool(checkpoint.get("lr_schedulers"))
    if had != (now["lr_scheduler"] is not None):
        before = "a schedule" if had else "no schedule"
        changes.append(f"lr_scheduler {before} -> {now['lr_scheduler']}")
    return changes


def check_same_optimizer(checkpoint: dict[str, Any], module: Any, ckpt_path: Any) -> None:
    """Refuse to resume optimizer state into another optimizer or schedule, saying what changed
    and how to go on.

    Raises:
        ConfigError: naming the changes, the run's own config and ``resume_weights_only=true``.
    """
    changes = _differences(checkpoint, module)
    if changes:
        raise ConfigError(
            f"ckpt_path={str(ckpt_path)!r} was trained with another optimizer or schedule "
            f"({'; '.join(changes)}), whose saved state cannot carry over to the configured one. "
            "Resume with the run's own model/optimizer and model/lr_scheduler (see its "
            ".hydra/config.yaml), or pass resume_weights_only=true to start the new optimizer "
            "and schedule fresh from the checkpoint's weights (in a new run folder)."
        )


def prepare_resume(cfg: Any, module: Any) -> tuple[str | None, int]:
    """Check ``cfg.ckpt_path`` against ``module`` before training; with
    ``resume_weights_only`` load its raw weights into ``module`` instead.

    Returns:
        The ``ckpt_path`` to give ``trainer.fit`` (``None`` after loading weights only) and the
        checkpoint's global step (0 when nothing is resumed).
    """
    ckpt_path = cfg.get("ckpt_path")
    lightning_name = str(ckpt_path) in LIGHTNING_NAMES or str(ckpt_path).startswith("registry")
    if cfg.get("resume_weights_only") and (ckpt_path is None or lightning_name):
        raise ConfigError(
            f"resume_weights_only=true needs ckpt_path=<file>.ckpt (got ckpt_path={ckpt_path}): "
            "the checkpoint whose weights the new run starts from."
        )
    if ckpt_path is None or lightning_name:
        return ckpt_path, 0
    checkpoint = read_checkpoint(ckpt_path, "cpu", cfg.get("trust_checkpoint"))
    check_matches(checkpoint, module, ckpt_path)
    if cfg.get("resume_weights_only"):
        state = checkpoint.get(RAW_KEY) or checkpoint["state_dict"]  # the optimised weights
        module.load_state_dict(state)
        return None, 0
    check_same_optimizer(checkpoint, module, ckpt_path)
    return ckpt_path, int(checkpoint.get("global_step", 0))


def weights_only_note(cfg: Any) -> str | None:
    """The line to log when a run starts from a checkpoint's weights only."""
    if cfg.get("resume_weights_only") and cfg.get("ckpt_path") is not None:
        return (
            f"resume_weights_only=true: starting from the weights of {Path(cfg.ckpt_path)} with "
            "a fresh optimizer, schedule and step counter."
        )
    return None
