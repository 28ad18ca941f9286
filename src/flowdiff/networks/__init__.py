"""Networks: ``forward(x_t, t, cond=None)`` returning a tensor shaped like ``x_t``."""

from flowdiff.networks.mlp import MLP
from flowdiff.networks.unet import UNet

__all__ = ["MLP", "UNet"]
