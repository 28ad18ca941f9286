"""DiT: a diffusion transformer over patches of images or signals (Peebles & Xie, 2023)."""

from __future__ import annotations

from collections.abc import Sequence

from lightning.pytorch.core.mixins import HyperparametersMixin
from torch import Tensor, nn

from flowdiff.networks.conditioning import IMAGE, LABELS, VECTOR, ConditionInput
from flowdiff.networks.embeddings import SinusoidalTimeEmbedding
from flowdiff.networks.patches import PatchEmbed, check_patchable, grid_positions, unpatchify
from flowdiff.networks.transformer import AdaLNFinal, AdaLNZeroBlock


class DiT(HyperparametersMixin, nn.Module):
    """Patchify, add fixed sine-cosine positions, run adaLN-Zero blocks modulated by the time (and
    label or vector) embedding, and unpatchify.

    Image context ``(B, C_ctx, *spatial)`` is concatenated to the noisy input before patchifying,
    with an optional coordinate grid: the npz scenes' 5 context + 2 grid + 1 noisy = 8 input
    channels.

    Args:
        data_shape: ``[C, H, W]`` (image) or ``[C, L]`` (signal); spatial sizes divisible by
            ``patch_size``.
        hidden: token width (divisible by ``heads``, and by 4 for images).
        depth: number of transformer blocks.
        heads: attention heads.
        patch_size: side of the square (or length of the 1-D) patches.
        mlp_ratio: feed-forward width relative to ``hidden``.
        num_classes: class labels ``(B,)`` when > 0.
        cond_shape: ``[C_ctx, *spatial]`` for image context, any other shape for vectors.
        add_coord_grid: append a coordinate grid (one channel per spatial axis).
    """

    accepts = (LABELS, VECTOR, IMAGE)

    def __init__(
        self,
        data_shape: Sequence[int],
        hidden: int = 512,
        depth: int = 8,
        heads: int = 8,
        patch_size: int = 4,
        mlp_ratio: float = 4.0,
        num_classes: int = 0,
        cond_shape: Sequence[int] | None = None,
        add_coord_grid: bool = False,
    ):
        super().__init__()
        self.save_hyperparameters()
        self.grid = check_patchable("DiT", data_shape, patch_size)
        self.channels, self.patch_size = data_shape[0], patch_size
        self.cond = ConditionInput(
            "DiT", self.accepts, data_shape, hidden, num_classes, cond_shape, add_coord_grid
        )
        self.time = SinusoidalTimeEmbedding(hidden)
        self.patch = PatchEmbed(self.cond.in_channels, hidden, patch_size, len(self.grid))
        self.register_buffer("positions", grid_positions(self.grid, hidden), persistent=False)
        self.blocks = nn.ModuleList(AdaLNZeroBlock(hidden, heads, mlp_ratio) for _ in range(depth))
        self.final = AdaLNFinal(hidden, patch_size ** len(self.grid) * self.channels)

    def forward(
        self, x_t: Tensor, t: Tensor, cond: Tensor | None = None, drop_cond: Tensor | None = None
    ) -> Tensor:
        """Map ``x_t`` ``(B, C, *spatial)``, ``t`` ``(B,)`` and ``cond`` to ``(B, C, *spatial)``.

        ``drop_cond`` ``(B,)`` (bool) replaces chosen samples' conditions by the null condition.
        """
        x_in, cond_emb = self.cond.inputs(x_t, cond, drop_cond)
        emb = self.time(t) + cond_emb
        h = self.patch(x_in) + self.positions.to(x_t.dtype)
        for block in self.blocks:
            h = block(h, emb)
        return unpatchify(self.final(h, emb), self.channels, self.grid, self.patch_size)
