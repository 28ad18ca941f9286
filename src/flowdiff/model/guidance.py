"""Classifier-free guidance, for every path and sampler alike.

Training drops each sample's condition with probability ``cond_drop_prob`` (the network swaps it
for its own null condition, see ``drop_cond``), so one network learns both the conditional and
the unconditional model. Sampling mixes the two outputs,
``unconditional + guidance_scale * (conditional - unconditional)``, inside the model function the
sampler calls: velocities, noise or clean-data predictions are mixed the same way, so flow
matching and diffusion samplers need no change. Both halves come from one batched forward.
"""

from __future__ import annotations

import inspect

import torch
from torch import Tensor, nn

from flowdiff.samplers.base import ModelFn


def takes_drop_cond(network: nn.Module) -> bool:
    """Whether ``network.forward`` has the ``drop_cond`` argument guidance needs."""
    return "drop_cond" in inspect.signature(network.forward).parameters


def drop_mask(batch_size: int, prob: float, device: torch.device) -> Tensor:
    """Which samples of a batch lose their condition: bool ``(B,)``, each ``True`` with
    probability ``prob``."""
    return torch.rand(batch_size, device=device) < prob


def guided_model(network: nn.Module, cond: Tensor | None, guidance_scale: float) -> ModelFn:
    """The model function ``(x (B, ...), t (B,)) -> (B, ...)`` a sampler integrates.

    With ``cond`` ``None`` or ``guidance_scale == 1`` it is the plain network call (the
    conditional, or null-conditional, output). Otherwise each call runs the network once on the
    doubled batch ``[x, x]`` with ``[cond, null]`` and returns the guided mixture.
    """
    if cond is None or guidance_scale == 1.0:
        return lambda x, t: network(x, t, cond)

    def model(x: Tensor, t: Tensor) -> Tensor:
        batch = x.shape[0]
        drop = torch.arange(2 * batch, device=x.device) >= batch
        both = network(torch.cat([x, x]), torch.cat([t, t]), torch.cat([cond, cond]), drop)
        conditional, unconditional = both.chunk(2)
        return unconditional + guidance_scale * (conditional - unconditional)

    return model
