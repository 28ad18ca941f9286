"""flowdiff: flow matching and diffusion models on PyTorch Lightning + Hydra."""

from flowdiff import resolvers

__version__ = "0.1.0"

resolvers.register()
