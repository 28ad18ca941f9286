"""LightningDataModules yielding batches ``{"x": (B, ...), "cond": ...}``."""

from flowdiff.data.arrays import ArraysDataModule
from flowdiff.data.digits import DigitsDataModule
from flowdiff.data.hdf5 import HDF5DataModule
from flowdiff.data.in_memory import InMemoryDataModule, TensorBatches
from flowdiff.data.npz_scenes import NpzScenesDataModule
from flowdiff.data.toy2d import Toy2DDataModule

__all__ = [
    "ArraysDataModule",
    "DigitsDataModule",
    "HDF5DataModule",
    "InMemoryDataModule",
    "NpzScenesDataModule",
    "TensorBatches",
    "Toy2DDataModule",
]
