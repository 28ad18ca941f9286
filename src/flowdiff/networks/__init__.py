"""Networks: ``forward(x_t, t, cond=None, drop_cond=None)`` returning a tensor shaped like ``x_t``.

Each network lists the kinds of ``cond`` it ``accepts`` (see :mod:`flowdiff.networks.conditioning`)
and takes ``drop_cond`` ``(B,)`` (bool) to swap chosen samples' conditions for its null condition,
which classifier-free guidance needs.
"""

from flowdiff.networks.cnn import CNN
from flowdiff.networks.dit import DiT
from flowdiff.networks.hybrid import Hybrid
from flowdiff.networks.mlp import MLP
from flowdiff.networks.resnet import ResNet
from flowdiff.networks.tokens import TokenTransformer
from flowdiff.networks.unet import UNet

__all__ = ["CNN", "MLP", "DiT", "Hybrid", "ResNet", "TokenTransformer", "UNet"]
