"""A residual convolution stack with FiLM time/condition modulation, for images and signals."""

from __future__ import annotations

from collections.abc import Sequence

from lightning.pytorch.core.mixins import HyperparametersMixin
from torch import Tensor, nn

from flowdiff.networks.conditioning import IMAGE, LABELS, VECTOR, ConditionInput
from flowdiff.networks.embeddings import SinusoidalTimeEmbedding
from flowdiff.networks.patches import conv


def check_spatial(owner: str, data_shape: Sequence[int]) -> int:
    """Number of spatial axes (1 or 2) of ``[C, *spatial]`` data, or a message naming data_shape."""
    if len(data_shape) not in (2, 3):
        raise ValueError(
            f"{owner} takes images [C, H, W] or signals [C, L], but data_shape="
            f"{list(data_shape)}; use an MLP or TokenTransformer for vectors "
            "(model/network=mlp or tokens)."
        )
    return len(data_shape) - 1


def group_count(channels: int, groups: int) -> int:
    """The largest group count <= ``groups`` dividing ``channels``."""
    return next(g for g in range(min(groups, channels), 0, -1) if channels % g == 0)


def output_head(hidden: int, out_channels: int, dims: int, groups: int = 32) -> nn.Sequential:
    """GroupNorm, SiLU and a 3-wide convolution from ``hidden`` to the data's channels."""
    return nn.Sequential(
        nn.GroupNorm(group_count(hidden, groups), hidden),
        nn.SiLU(),
        conv(dims)(hidden, out_channels, 3, padding=1),
    )


class FiLMBlock(nn.Module):
    """``h + conv(SiLU(FiLM(norm(conv(SiLU(norm(h)))))))``: scale and shift from the embedding.

    Args:
        hidden: channels.
        emb_dim: width of the embedding.
        kernel_size: odd kernel size.
        spatial_dims: 1 (signals) or 2 (images).
        dropout: dropout before the second convolution.
    """

    def __init__(
        self, hidden: int, emb_dim: int, kernel_size: int, spatial_dims: int, dropout: float = 0.0
    ):
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size={kernel_size} must be odd.")
        Conv = conv(spatial_dims)
        groups = group_count(hidden, 32)
        self.norm1 = nn.GroupNorm(groups, hidden)
        self.conv1 = Conv(hidden, hidden, kernel_size, padding=kernel_size // 2)
        self.norm2 = nn.GroupNorm(groups, hidden)
        self.film = nn.Linear(emb_dim, 2 * hidden)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = Conv(hidden, hidden, kernel_size, padding=kernel_size // 2)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, h: Tensor, emb: Tensor) -> Tensor:
        """Features ``(B, hidden, *spatial)`` and embedding ``(B, emb_dim)`` to the same shape."""
        r = self.conv1(nn.functional.silu(self.norm1(h)))
        scale, shift = self.film(nn.functional.silu(emb)).chunk(2, dim=-1)
        expand = (*scale.shape, *([1] * (h.dim() - 2)))
        r = self.norm2(r) * (1 + scale.reshape(expand)) + shift.reshape(expand)
        return h + self.conv2(self.dropout(nn.functional.silu(r)))


class CNN(HyperparametersMixin, nn.Module):
    """A full-resolution residual conv stack; block ``i`` uses ``kernel_sizes[i % len]``, so
    mixed kernel sizes see local and wider context.

    Args:
        data_shape: ``[C, H, W]`` or ``[C, L]``.
        hidden: channels of the stack.
        depth: number of residual blocks.
        kernel_sizes: odd kernel sizes, cycled over the blocks.
        dropout: dropout inside the blocks.
        num_classes: class labels ``(B,)`` when > 0.
        cond_shape: ``[C_ctx, *spatial]`` for image context, any other shape for vectors.
        add_coord_grid: append a coordinate grid (one channel per spatial axis).
    """

    accepts = (LABELS, VECTOR, IMAGE)

    def __init__(
        self,
        data_shape: Sequence[int],
        hidden: int = 256,
        depth: int = 6,
        kernel_sizes: Sequence[int] = (3, 5, 7, 9),
        dropout: float = 0.0,
        num_classes: int = 0,
        cond_shape: Sequence[int] | None = None,
        add_coord_grid: bool = False,
    ):
        super().__init__()
        self.save_hyperparameters()
        dims = check_spatial("CNN", data_shape)
        self.cond = ConditionInput(
            "CNN", self.accepts, data_shape, hidden, num_classes, cond_shape, add_coord_grid
        )
        self.time = SinusoidalTimeEmbedding(hidden)
        Conv = conv(dims)
        self.input = Conv(self.cond.in_channels, hidden, 3, padding=1)
        sizes = list(kernel_sizes)
        self.blocks = nn.ModuleList(
            FiLMBlock(hidden, hidden, sizes[i % len(sizes)], dims, dropout) for i in range(depth)
        )
        self.output = output_head(hidden, data_shape[0], dims)

    def forward(
        self, x_t: Tensor, t: Tensor, cond: Tensor | None = None, drop_cond: Tensor | None = None
    ) -> Tensor:
        """Map ``x_t`` ``(B, C, *spatial)``, ``t`` ``(B,)`` and ``cond`` to ``(B, C, *spatial)``."""
        x_in, cond_emb = self.cond.inputs(x_t, cond, drop_cond)
        emb = self.time(t) + cond_emb
        h = self.input(x_in)
        for block in self.blocks:
            h = block(h, emb)
        return self.output(h)
