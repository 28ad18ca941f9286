"""Time and condition embeddings shared by flowdiff's networks."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

#: where a second time's interval ``s - t`` is embedded: past the flow-matching times [0, 1], so
#: the one MLP tells the two apart (see :meth:`SinusoidalTimeEmbedding.forward`)
INTERVAL_OFFSET = 10.0


class SinusoidalTimeEmbedding(nn.Module):
    """Transformer-style sinusoidal features of a scalar time, followed by a small MLP.

    Works for any time convention (flow matching's [0, 1] or diffusion's integer steps): the
    frequencies span ``1`` to ``1 / max_period``. A pair of times ``(t, s)`` (a mean-flow
    network's start and end, :class:`flowdiff.paths.MeanFlowPath`) is embedded with the same
    weights, so every network built on this embedding takes one or two times unchanged.

    Args:
        dim: output width.
        frequency_dim: number of sinusoidal features (even).
        max_period: slowest period of the features.
    """

    def __init__(self, dim: int, frequency_dim: int = 128, max_period: float = 10_000.0):
        super().__init__()
        half = frequency_dim // 2
        freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
        self.register_buffer("freqs", freqs, persistent=False)
        self.mlp = nn.Sequential(nn.Linear(2 * half, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, t: Tensor) -> Tensor:
        """Map times ``(B,)``, or pairs ``(B, 2)`` of a start ``t`` and an end ``s``, to
        embeddings ``(B, dim)``.

        A pair is embedded as ``e(t) + e(OFFSET + s - t) - e(OFFSET)`` (``OFFSET`` is
        :data:`INTERVAL_OFFSET`): at ``s = t`` exactly ``e(t)``, so a flow-matching model is a
        mean-flow model's exact start (its average velocity over an empty interval is the
        instantaneous one) and the interval's features differ from the times' own.
        """
        if t.dim() == 2 and t.shape[1] == 2:
            start, interval = t[:, 0], t[:, 1] - t[:, 0]
            offset = interval.new_full((1,), INTERVAL_OFFSET)
            return self.forward(start) + self.forward(offset + interval) - self.forward(offset)
        if t.dim() == 1 and t.shape[0] > 1 and t.stride(0) == 0:
            # One time for the whole batch (samplers expand a scalar t): embed it once. The
            # stride says so without reading t, so nothing waits on the device.
            return self.forward(t[:1]).expand(t.shape[0], -1)
        args = t.float()[:, None] * self.freqs[None]
        features = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
        return self.mlp(features.to(self.mlp[0].weight.dtype))


class ConditionEmbedding(nn.Module):
    """Embeds class labels ``(B,)`` or vectors ``(B, cond_dim)``; ``None`` is the null condition.

    The null condition (used for unconditional generation and classifier-free guidance) is an
    extra class index for labels and a learned vector for vector conditions. ``drop`` ``(B,)``
    (bool) replaces chosen samples' conditions by the null condition.

    Args:
        dim: output width.
        num_classes: number of classes, or 0 for no class conditioning.
        cond_dim: width of vector conditions, or 0 for no vector conditioning.
    """

    def __init__(self, dim: int, num_classes: int = 0, cond_dim: int = 0):
        super().__init__()
        if num_classes and cond_dim:
            raise ValueError("A network takes either class labels or vectors as cond, not both.")
        self.num_classes = num_classes
        self.cond_dim = cond_dim
        self.classes = nn.Embedding(num_classes + 1, dim) if num_classes else None
        self.vector = nn.Linear(cond_dim, dim) if cond_dim else None
        self.null = nn.Parameter(torch.zeros(dim))

    @property
    def conditional(self) -> bool:
        return self.classes is not None or self.vector is not None

    def forward(self, cond: Tensor | None, batch_size: int, drop: Tensor | None = None) -> Tensor:
        """Embedding ``(B, dim)`` of ``cond``; zeros for unconditional networks."""
        if self.classes is not None:
            null = torch.full((batch_size,), self.num_classes, device=self.null.device)
            labels = null if cond is None else cond.long()
            if drop is not None and cond is not None:
                labels = torch.where(drop, null, labels)
            return self.classes(labels)
        if self.vector is not None and cond is not None:
            embedded = self.vector(cond.reshape(batch_size, -1).to(self.vector.weight.dtype))
            if drop is not None:
                embedded = torch.where(drop[:, None], self.null.to(embedded.dtype), embedded)
            return embedded
        if self.vector is not None:
            return self.null.expand(batch_size, -1)
        if cond is not None:
            raise ValueError(
                "This network was built without conditioning but received cond; build it "
                "with num_classes=<number of labels> or cond_shape=<shape of one condition>."
            )
        return self.null.new_zeros(batch_size, self.null.shape[0])
