"""Random-number-generator state in checkpoints, so a resumed run draws what it would have drawn."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch
from lightning import Callback, LightningModule, Trainer


class RNGState(Callback):
    """Saves the global torch, CUDA, NumPy and Python random states with every checkpoint and
    restores them on resume.

    Lightning restores weights, optimizer, schedule and loop counters, not the random streams.
    Flow-matching and diffusion steps draw their times and noise from the global torch
    generator, and the training DataLoader draws each epoch's shuffle from it too, so without
    this a resumed run would see other noise and another data order than an uninterrupted one.
    With it, ``N`` straight steps and ``N/2 + resume + N/2`` give bitwise-equal weights on the
    CPU with ``deterministic=true`` (single process).

    Under DDP every rank is reseeded with ``seed + rank`` when fitting starts, so the ranks do not
    draw identical noise for different data. Every checkpoint then also holds each rank's own
    states (``per_rank``, gathered when it is written, which every rank does together), and a
    resumed DDP run with the same number of processes restores each rank's own: bitwise the
    uninterrupted run (``tests/integration/test_ddp_kill.py``). Checkpoints without them (older,
    or another world size) restore rank 0's state and derive each rank's stream from it
    (reproducible, but not bitwise the uninterrupted run).

    Args:
        per_rank: decorrelate the ranks' random streams under DDP (see above).
    """

    def __init__(self, per_rank: bool = True):
        super().__init__()
        self.per_rank = per_rank
        self._rank = 0
        self._world_size = 1

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        self._rank, self._world_size = trainer.global_rank, trainer.world_size
        if stage == "fit" and self.per_rank and self._world_size > 1:
            self._reseed_for_rank()

    def state_dict(self) -> dict[str, Any]:
        states = _local_states()
        if self._world_size > 1 and torch.distributed.is_initialized():
            gathered: list[Any] = [None] * self._world_size
            torch.distributed.all_gather_object(gathered, states)
            states["per_rank"] = gathered
        return states

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        # Applied at once: between restoring callbacks and the first training batch Lightning
        # draws nothing from these generators (its sanity check runs inside isolate_rng).
        per_rank = state_dict.get("per_rank")
        if self._world_size > 1 and per_rank is not None and len(per_rank) == self._world_size:
            _restore(per_rank[self._rank])  # this rank's own streams: an exact continuation
            return
        _restore(state_dict)
        if self.per_rank and self._world_size > 1:
            self._reseed_for_rank()

    def _reseed_for_rank(self) -> None:
        # A seed drawn from the current (shared) stream, offset by the rank: reproducible and
        # different on every rank.
        base = int(torch.randint(0, 2**31 - 1, (1,)).item())
        torch.manual_seed(base + self._rank)
        random.seed(base + self._rank)
        np.random.seed((base + self._rank) % 2**32)


def _local_states() -> dict[str, Any]:
    """This process's torch, CUDA, NumPy and Python random states."""
    # The keys and layout of Lightning's seed utilities, so checkpoints written before (and by
    # Lightning's own loops) read the same way.
    version, state, gauss = random.getstate()
    # NumPy's state as a tensor: Lightning reads checkpoints with torch's weights-only loader,
    # which accepts tensors and plain containers but not NumPy arrays.
    kind, keys, position, has_gauss, cached = np.random.get_state()
    states: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "python": (version, state, gauss),
        "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, cached),
    }
    if torch.cuda.is_available():
        states["torch.cuda"] = torch.cuda.get_rng_state_all()
    return states


def _restore(states: dict[str, Any]) -> None:
    """Set this process's random states from :func:`_local_states`' record."""
    torch.set_rng_state(states["torch"])
    if "torch.cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["torch.cuda"])
    kind, keys, position, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), position, has_gauss, cached))
    version, state, gauss = states["python"]
    random.setstate((version, tuple(state), gauss))
