"""Asking for a device the machine does not have is said as such, before anything is loaded:
``device=cuda`` without a GPU is not "weights that do not fit"."""

from __future__ import annotations

from typing import Any

import torch

from flowdiff.errors import DeviceError, InputValueError


def check_device(device: Any, what: str = "device") -> None:
    """Refuse a CUDA (or MPS) device this machine does not have, saying so, before anything is
    loaded onto it; other values (``None``, callables, dicts of ``map_location``) pass.

    Raises:
        DeviceError: naming ``what`` and how many GPUs there are.
    """
    if isinstance(device, bool) or str(device) == "auto":
        return
    if not isinstance(device, (str, torch.device, int)):  # an int is a GPU index to torch
        return
    try:
        device = torch.device(device)
    except RuntimeError as error:
        raise InputValueError(
            f"{what}={str(device)!r} is not a device torch knows ({error}); use 'cpu', 'cuda', "
            "'cuda:<index>' or 'auto'."
        ) from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            build = "" if torch.version.cuda else " (this torch build has no CUDA support)"
            raise DeviceError(
                f"{what}={str(device)!r} asks for a GPU, but this machine has none that torch "
                f"can use{build}; use {what}='cpu' (or 'auto': a GPU when there is one)."
            )
        if device.index is not None and device.index >= count:
            raise DeviceError(
                f"{what}={str(device)!r}: this machine has {count} GPU(s), cuda:0 to "
                f"cuda:{count - 1}; pick one of those, or 'cpu'."
            )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise DeviceError(f"{what}='mps' asks for Apple's GPU, which is not available; use 'cpu'.")
