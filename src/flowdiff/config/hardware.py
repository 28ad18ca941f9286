"""Fitting the trainer's settings to the machine: precisions and synchronised batch norm that the
hardware lacks fall back, with a warning, to what it has."""

from __future__ import annotations

from typing import Any

import torch
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn
from omegaconf import DictConfig, OmegaConf

_FP16 = {"16", "16-mixed", "16-true"}
_BF16 = {"bf16", "bf16-mixed", "bf16-true"}


def device_type(accelerator: Any) -> str:
    """``cpu``, ``cuda`` or ``mps`` (or the name given) for a Trainer ``accelerator``."""
    name = str(accelerator).lower()
    if name in ("auto", "gpu"):
        if torch.cuda.is_available():
            return "cuda"
        if torch.backends.mps.is_available():
            return "mps"
        return "cpu" if name == "auto" else "gpu"
    return name


def fallback_precision(precision: Any, device: str) -> str:
    """The precision to use on ``device`` for the requested one.

    * fp16 on a CPU is refused by Lightning: 32-true (bf16-mixed also works on CPUs but is
      rarely faster there);
    * bf16 on a CUDA GPU without bf16 (before Ampere): 16-mixed;
    * anything else is kept.
    """
    precision = str(precision)
    if device == "cpu" and precision in _FP16:
        return "32-true"
    if device == "cuda" and precision in _BF16 and not torch.cuda.is_bf16_supported():
        return "16-mixed"
    return precision


def fit_to_hardware(trainer_cfg: DictConfig) -> DictConfig:
    """A resolved copy of ``cfg.trainer`` with ``precision`` and ``sync_batchnorm`` the machine
    supports; each change is reported once (rank 0)."""
    cfg = OmegaConf.create(OmegaConf.to_container(trainer_cfg, resolve=True))
    device = device_type(cfg.get("accelerator", "auto"))
    requested = cfg.get("precision", "32-true")
    precision = fallback_precision(requested, device)
    if precision != str(requested):
        rank_zero_warn(
            f"trainer.precision={requested} is not supported on this {device.upper()}; using "
            f"{precision} instead. Set trainer.precision explicitly to silence this."
        )
        cfg.precision = precision
    if cfg.get("sync_batchnorm") and device == "cpu":
        # torch's SyncBatchNorm only runs on accelerators; on CPUs each process keeps its own.
        rank_zero_info("trainer.sync_batchnorm=true needs GPUs; turned off on the CPU.")
        cfg.sync_batchnorm = False
    return cfg
