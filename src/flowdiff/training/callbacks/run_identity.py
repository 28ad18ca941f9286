"""What identifies a run in its records: config hash, code version, seed and machine."""

from __future__ import annotations

import hashlib
import socket
import subprocess
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

import flowdiff

#: Keys that change between a run and its resumption without changing what is trained (the
#: loggers may name the run: ``logger.wandb.name: ${run_name}``).
_NOT_HASHED = ("hydra", "ckpt_path", "run_name", "logger")


def config_hash(cfg: DictConfig) -> str:
    """First 12 hex digits of the SHA-256 of the resolved config (without Hydra's own settings,
    ``ckpt_path``, ``run_name`` and the loggers), so a resumed run with the same settings has
    the same hash."""
    kept = OmegaConf.masked_copy(cfg, [key for key in cfg if key not in _NOT_HASHED])
    text = OmegaConf.to_yaml(kept, resolve=True, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def git_commit(folder: Path | None = None) -> str | None:
    """``HEAD`` of the git checkout holding flowdiff (``-dirty`` when it has uncommitted
    changes), or ``None`` outside a checkout."""
    folder = folder or Path(flowdiff.__file__).resolve().parent

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("-dirty" if dirty else "")


def run_context(cfg: DictConfig) -> dict[str, Any]:
    """The fields every event of a run carries."""
    return {
        "config_hash": config_hash(cfg),
        "git_commit": git_commit(),
        "seed": cfg.get("seed"),
        "host": socket.gethostname(),
    }
