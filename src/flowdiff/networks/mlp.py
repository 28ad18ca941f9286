"""A residual MLP for vector data (or any data, flattened)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from lightning.pytorch.core.mixins import HyperparametersMixin
from torch import Tensor, nn

from flowdiff.networks.conditioning import LABELS, VECTOR, ConditionInput
from flowdiff.networks.embeddings import SinusoidalTimeEmbedding


def _one_row(value: Tensor | None) -> bool:
    """Whether ``value`` (``None`` or ``(B, ...)``) is one row repeated, as ``expand`` makes
    it: told by its stride, without reading it (nothing waits on a device)."""
    return value is None or (value.dim() > 0 and value.shape[0] > 1 and value.stride(0) == 0)


class ResidualBlock(nn.Module):
    """``h + Linear(SiLU(Linear(SiLU(LayerNorm(h) * (1 + scale) + shift))))``, scale/shift from the
    embedding (adaptive layer norm)."""

    def __init__(self, hidden: int, dropout: float = 0.0):
        super().__init__()
        self.norm = nn.LayerNorm(hidden, elementwise_affine=False)
        self.modulation = nn.Linear(hidden, 2 * hidden)
        self.body = nn.Sequential(
            nn.SiLU(),
            nn.Linear(hidden, hidden),
            nn.SiLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
        )

    def forward(self, h: Tensor, emb: Tensor) -> Tensor:
        """``h`` ``(B, hidden)``; ``emb`` ``(B, hidden)``, or ``(1, hidden)`` shared by all."""
        scale, shift = self.modulation(emb).chunk(2, dim=-1)
        return h + self.body(self.norm(h) * (1 + scale) + shift)


class MLP(HyperparametersMixin, nn.Module):
    """Residual MLP with sinusoidal time embedding and optional class or vector conditioning.

    Args:
        data_shape: shape of one sample, e.g. ``[2]`` or ``[1, 8, 8]`` (flattened inside).
        hidden: width of the hidden layers.
        depth: number of residual blocks.
        num_classes: class-conditional on labels ``(B,)`` in ``[0, num_classes)`` when > 0.
        cond_shape: conditional on vectors ``(B, *cond_shape)`` (flattened) when set.
        dropout: dropout inside the blocks.
    """

    accepts = (LABELS, VECTOR)

    def __init__(
        self,
        data_shape: Sequence[int],
        hidden: int = 256,
        depth: int = 4,
        num_classes: int = 0,
        cond_shape: Sequence[int] | None = None,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.data_shape = tuple(data_shape)
        features = math.prod(self.data_shape)
        self.time = SinusoidalTimeEmbedding(hidden)
        self.cond = ConditionInput(
            "MLP", self.accepts, self.data_shape, hidden, num_classes, cond_shape
        )
        self.input = nn.Linear(features, hidden)
        self.blocks = nn.ModuleList(ResidualBlock(hidden, dropout) for _ in range(depth))
        self.output = nn.Sequential(nn.LayerNorm(hidden), nn.SiLU(), nn.Linear(hidden, features))

    def forward(
        self, x_t: Tensor, t: Tensor, cond: Tensor | None = None, drop_cond: Tensor | None = None
    ) -> Tensor:
        """Map ``x_t`` ``(B, *data_shape)``, ``t`` ``(B,)`` and ``cond`` to a tensor like x_t.

        ``drop_cond`` ``(B,)`` (bool) replaces chosen samples' conditions by the null condition.
        """
        batch = x_t.shape[0]
        self.cond.check(cond, batch)
        # Every row with the same time and condition (posterior draws for one observation: both
        # expanded, stride 0): embed one row, and each block's modulation broadcasts it; half
        # the multiply-adds of a 128 x 3 MLP are in those modulations.
        rows = 1 if drop_cond is None and all(map(_one_row, (t, cond))) else batch
        cond = cond if cond is None or rows == batch else cond[:rows]
        emb = nn.functional.silu(self.time(t[:rows]) + self.cond.embed(cond, rows, drop_cond))
        h = self.input(x_t.reshape(batch, -1))
        for block in self.blocks:
            h = block(h, emb)
        return self.output(h).reshape(x_t.shape)
