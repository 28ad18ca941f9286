"""A ResNet of diffusers' residual blocks (``ResnetBlock2D`` / ``ResidualTemporalBlock1D``)."""

from __future__ import annotations

from collections.abc import Sequence

from diffusers.models.resnet import ResidualTemporalBlock1D, ResnetBlock2D
from lightning.pytorch.core.mixins import HyperparametersMixin
from torch import Tensor, nn

from flowdiff.networks.cnn import check_spatial, group_count, output_head
from flowdiff.networks.conditioning import IMAGE, LABELS, VECTOR, ConditionInput
from flowdiff.networks.embeddings import SinusoidalTimeEmbedding
from flowdiff.networks.patches import conv


class ResNet(HyperparametersMixin, nn.Module):
    """A full-resolution stack of diffusers residual blocks. For images each block applies the
    time/condition embedding as a scale and shift of its second norm (``scale_shift``); for
    signals diffusers' 1-D temporal block adds it to the features.

    Args:
        data_shape: ``[C, H, W]`` or ``[C, L]``.
        hidden: channels of the stack.
        depth: number of residual blocks.
        kernel_size: kernel of the 1-D blocks (images use diffusers' 3x3).
        groups: GroupNorm groups of the image blocks (reduced to divide ``hidden``).
        dropout: dropout inside the image blocks.
        num_classes: class labels ``(B,)`` when > 0.
        cond_shape: ``[C_ctx, *spatial]`` for image context, any other shape for vectors.
        add_coord_grid: append a coordinate grid (one channel per spatial axis).
    """

    accepts = (LABELS, VECTOR, IMAGE)

    def __init__(
        self,
        data_shape: Sequence[int],
        hidden: int = 128,
        depth: int = 6,
        kernel_size: int = 5,
        groups: int = 32,
        dropout: float = 0.0,
        num_classes: int = 0,
        cond_shape: Sequence[int] | None = None,
        add_coord_grid: bool = False,
    ):
        super().__init__()
        self.save_hyperparameters()
        dims = check_spatial("ResNet", data_shape)
        self.cond = ConditionInput(
            "ResNet", self.accepts, data_shape, hidden, num_classes, cond_shape, add_coord_grid
        )
        self.time = SinusoidalTimeEmbedding(hidden)
        Conv = conv(dims)
        self.input = Conv(self.cond.in_channels, hidden, 3, padding=1)
        groups = group_count(hidden, groups)
        if dims == 2:
            make = lambda: ResnetBlock2D(  # noqa: E731
                in_channels=hidden,
                temb_channels=hidden,
                groups=groups,
                dropout=dropout,
                time_embedding_norm="scale_shift",
            )
        else:
            if hidden % 8:
                raise ValueError(
                    f"hidden={hidden} must be a multiple of 8 for signals: "
                    "diffusers' 1-D residual block normalises in 8 groups."
                )
            make = lambda: ResidualTemporalBlock1D(hidden, hidden, hidden, kernel_size)  # noqa: E731
        self.blocks = nn.ModuleList(make() for _ in range(depth))
        self.output = output_head(hidden, data_shape[0], dims, groups)

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
