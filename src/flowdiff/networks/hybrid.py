"""A hybrid network: convolutions for local structure, a transformer over patches for global."""

from __future__ import annotations

from collections.abc import Sequence

from lightning.pytorch.core.mixins import HyperparametersMixin
from torch import Tensor, nn

from flowdiff.networks.cnn import FiLMBlock, output_head
from flowdiff.networks.conditioning import IMAGE, LABELS, VECTOR, ConditionInput
from flowdiff.networks.embeddings import SinusoidalTimeEmbedding
from flowdiff.networks.patches import (
    PatchEmbed,
    check_patchable,
    conv,
    grid_positions,
    unpatchify,
)
from flowdiff.networks.transformer import AdaLNFinal, AdaLNZeroBlock


class Hybrid(HyperparametersMixin, nn.Module):
    """FiLM conv blocks at full resolution, adaLN-Zero transformer blocks over patches of their
    features, and FiLM conv blocks again on the unpatchified result (with a skip from the first
    stage).

    Args:
        data_shape: ``[C, H, W]`` or ``[C, L]``, spatial sizes divisible by ``patch_size``.
        hidden: width of both the conv features and the tokens.
        depth: transformer blocks.
        heads: attention heads.
        conv_depth: conv blocks before and after the transformer (each).
        kernel_size: odd kernel of the conv blocks.
        patch_size: patch side (or length) for the transformer.
        mlp_ratio: feed-forward width relative to ``hidden``.
        num_classes: class labels ``(B,)`` when > 0.
        cond_shape: ``[C_ctx, *spatial]`` for image context, any other shape for vectors.
        add_coord_grid: append a coordinate grid (one channel per spatial axis).
    """

    accepts = (LABELS, VECTOR, IMAGE)

    def __init__(
        self,
        data_shape: Sequence[int],
        hidden: int = 384,
        depth: int = 6,
        heads: int = 6,
        conv_depth: int = 2,
        kernel_size: int = 3,
        patch_size: int = 4,
        mlp_ratio: float = 4.0,
        num_classes: int = 0,
        cond_shape: Sequence[int] | None = None,
        add_coord_grid: bool = False,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.grid = check_patchable("Hybrid", data_shape, patch_size)
        dims, self.patch_size, self.hidden = len(self.grid), patch_size, hidden
        self.cond = ConditionInput(
            "Hybrid", self.accepts, data_shape, hidden, num_classes, cond_shape, add_coord_grid
        )
        self.time = SinusoidalTimeEmbedding(hidden)
        Conv = conv(dims)
        self.input = Conv(self.cond.in_channels, hidden, 3, padding=1)
        film = lambda: FiLMBlock(hidden, hidden, kernel_size, dims)  # noqa: E731
        self.local_in = nn.ModuleList(film() for _ in range(conv_depth))
        self.patch = PatchEmbed(hidden, hidden, patch_size, dims)
        self.register_buffer("positions", grid_positions(self.grid, hidden), persistent=False)
        self.blocks = nn.ModuleList(AdaLNZeroBlock(hidden, heads, mlp_ratio) for _ in range(depth))
        self.final = AdaLNFinal(hidden, patch_size**dims * hidden)
        self.local_out = nn.ModuleList(film() for _ in range(conv_depth))
        self.output = output_head(hidden, data_shape[0], dims)

    def forward(
        self, x_t: Tensor, t: Tensor, cond: Tensor | None = None, drop_cond: Tensor | None = None
    ) -> Tensor:
        """Map ``x_t`` ``(B, C, *spatial)``, ``t`` ``(B,)`` and ``cond`` to ``(B, C, *spatial)``."""
        x_in, cond_emb = self.cond.inputs(x_t, cond, drop_cond)
        emb = self.time(t) + cond_emb
        h = self.input(x_in)
        for block in self.local_in:
            h = block(h, emb)
        tokens = self.patch(h) + self.positions.to(h.dtype)
        for block in self.blocks:
            tokens = block(tokens, emb)
        h = h + unpatchify(self.final(tokens, emb), self.hidden, self.grid, self.patch_size)
        for block in self.local_out:
            h = block(h, emb)
        return self.output(h)
