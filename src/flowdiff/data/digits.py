"""scikit-learn's embedded 8x8 handwritten digits, class-conditional."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import Tensor

from flowdiff.data.file_checks import read_npz, require_file
from flowdiff.data.in_memory import InMemoryDataModule


class DigitsDataModule(InMemoryDataModule):
    """1,797 grey 8x8 digits (values 0-16) as ``x`` ``(N, 1, 8, 8)``, labels ``cond`` ``(N,)``.

    Nothing is downloaded: the data ships inside scikit-learn.

    Args:
        data_dir: optional folder with a ``digits.npz`` holding ``images`` ``(N, 8, 8)`` and
            ``target`` ``(N,)`` in the same layout, to train on your own copy instead.
        levels: how many values a pixel takes (17: the integers 0-16); the flow-matching
            config reads it (``data.levels``) to round generated samples to the same grid.
        **kwargs: see :class:`~flowdiff.data.in_memory.InMemoryDataModule`.
    """

    def __init__(self, data_dir: str | None = None, levels: int | None = 17, **kwargs):
        kwargs.setdefault("shape", (1, 8, 8))
        kwargs.setdefault("num_classes", 10)
        kwargs.setdefault("normalization", "standard")  # per pixel: configs/data/digits.yaml
        super().__init__(**kwargs)
        self.data_dir = data_dir
        self.levels = levels

    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if self.data_dir is None:
            digits = load_digits()
            return digits.images, digits.target
        hint = (
            "put a digits.npz there (keys 'images' (N, 8, 8) and 'target' (N,)) or set "
            "data_dir=None to use the embedded digits"
        )
        arrays = read_npz(require_file(self.data_dir, "digits.npz", hint), ["images", "target"])
        return arrays["images"], arrays["target"]

    def load(self) -> tuple[Tensor, Tensor]:
        images, labels = self._arrays()
        x = torch.as_tensor(np.asarray(images, dtype=np.float32))[:, None]
        return x, torch.as_tensor(np.asarray(labels), dtype=torch.long)
