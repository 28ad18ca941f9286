"""Networks: ``forward(x_t, t, cond=None, drop_cond=None)`` returning a tensor shaped like ``x_t``.

Each network lists the kinds of ``cond`` it ``accepts`` (see :mod:`flowdiff.networks.conditioning`)
and takes ``drop_cond`` ``(B,)`` (bool) to swap chosen samples' conditions for its null condition,
which classifier-free guidance needs.

The classes are imported on first use (PEP 562): the UNet, which imports diffusers, only when
asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flowdiff import _lazy_exports

if TYPE_CHECKING:
    from flowdiff.networks.cnn import CNN
    from flowdiff.networks.dit import DiT
    from flowdiff.networks.hybrid import Hybrid
    from flowdiff.networks.mlp import MLP
    from flowdiff.networks.resnet import ResNet
    from flowdiff.networks.tokens import TokenTransformer
    from flowdiff.networks.unet import UNet

#: Public name -> the module that defines it.
_HOMES = {
    "CNN": "flowdiff.networks.cnn",
    "DiT": "flowdiff.networks.dit",
    "Hybrid": "flowdiff.networks.hybrid",
    "MLP": "flowdiff.networks.mlp",
    "ResNet": "flowdiff.networks.resnet",
    "TokenTransformer": "flowdiff.networks.tokens",
    "UNet": "flowdiff.networks.unet",
}

__all__ = ["CNN", "MLP", "DiT", "Hybrid", "ResNet", "TokenTransformer", "UNet"]


__getattr__, __dir__ = _lazy_exports(__name__, _HOMES)
