"""flowdiff: flow matching and diffusion models on PyTorch Lightning + Hydra."""

__version__ = "0.1.0"
