"""LightningDataModules yielding batches ``{"x": (B, ...), "cond": ...}``."""

from flowdiff.data.digits import DigitsDataModule
from flowdiff.data.in_memory import InMemoryDataModule, TensorBatches
from flowdiff.data.normalizer import Normalizer
from flowdiff.data.toy2d import Toy2DDataModule

__all__ = [
    "DigitsDataModule",
    "InMemoryDataModule",
    "Normalizer",
    "TensorBatches",
    "Toy2DDataModule",
]
