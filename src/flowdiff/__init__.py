"""flowdiff: flow matching and diffusion models on PyTorch Lightning + Hydra."""

from __future__ import annotations

from typing import Any

from flowdiff.config import resolvers

__version__ = "0.1.0"
__all__ = ["evaluate"]

resolvers.register()


def __getattr__(name: str) -> Any:
    # Imported on first use, so that `import flowdiff` (and every CLI's start) stays light.
    if name == "evaluate":
        from flowdiff.evaluation import evaluate

        return evaluate
    raise AttributeError(f"module 'flowdiff' has no attribute {name!r}")
