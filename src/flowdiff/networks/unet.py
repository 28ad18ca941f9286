"""Adapter over diffusers' ``UNet2DModel`` for image data."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from diffusers import UNet2DModel
from lightning.pytorch.core.mixins import HyperparametersMixin
from torch import Tensor, nn

from flowdiff.networks.conditioning import IMAGE, LABELS, ConditionInput


class UNet(HyperparametersMixin, nn.Module):
    """A diffusers U-Net with optional class conditioning, built from scratch (no hub weights).

    Args:
        data_shape: ``[C, H, W]`` of one image; ``H`` and ``W`` must be divisible by
            ``2 ** (len(block_out_channels) - 1)``.
        num_classes: class-conditional on labels ``(B,)`` when > 0; label ``num_classes`` is the
            null class used for unconditional generation.
        cond_shape: ``[C_ctx, H, W]`` image context concatenated to the input channels.
        add_coord_grid: append a 2-channel coordinate grid to the input.
        block_out_channels: channels per resolution level.
        attention: whether each level has self-attention (same length as ``block_out_channels``).
        layers_per_block: residual layers per level.
        norm_num_groups: groups of the GroupNorms (must divide every channel count).
        dropout: dropout inside the residual layers.
    """

    accepts = (LABELS, IMAGE)

    def __init__(
        self,
        data_shape: Sequence[int],
        num_classes: int = 0,
        cond_shape: Sequence[int] | None = None,
        add_coord_grid: bool = False,
        block_out_channels: Sequence[int] = (64, 128),
        attention: Sequence[bool] = (False, True),
        layers_per_block: int = 2,
        norm_num_groups: int = 8,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.save_hyperparameters()
        channels, height, width = data_shape
        levels = len(block_out_channels)
        if len(attention) != levels:
            raise ValueError(
                f"attention={list(attention)} has {len(attention)} entries but "
                f"block_out_channels={list(block_out_channels)} has {levels}; give one per level."
            )
        if height % 2 ** (levels - 1) or width % 2 ** (levels - 1):
            raise ValueError(
                f"Images of {height}x{width} cannot be halved {levels - 1} times; use fewer "
                f"block_out_channels than {list(block_out_channels)} or another image size."
            )
        self.num_classes = num_classes
        # Labels go through diffusers' class embedding; ConditionInput handles image context.
        self.cond = ConditionInput(
            "UNet", self.accepts, data_shape, 0, num_classes, cond_shape, add_coord_grid
        )
        self.unet = UNet2DModel(
            sample_size=(height, width),
            in_channels=self.cond.in_channels,
            out_channels=channels,
            block_out_channels=tuple(block_out_channels),
            down_block_types=tuple("AttnDownBlock2D" if a else "DownBlock2D" for a in attention),
            up_block_types=tuple(
                "AttnUpBlock2D" if a else "UpBlock2D" for a in reversed(attention)
            ),
            layers_per_block=layers_per_block,
            norm_num_groups=norm_num_groups,
            num_class_embeds=num_classes + 1 if num_classes else None,
            dropout=dropout,
        )

    def forward(
        self, x_t: Tensor, t: Tensor, cond: Tensor | None = None, drop_cond: Tensor | None = None
    ) -> Tensor:
        """Map ``x_t`` ``(B, C, H, W)``, ``t`` ``(B,)`` and labels ``(B,)`` or context
        ``(B, C_ctx, H, W)`` to ``(B, C, H, W)``; ``drop_cond`` ``(B,)`` nulls chosen samples."""
        self.cond.check(cond, x_t.shape[0])
        labels = None
        if self.num_classes:
            null = torch.full((x_t.shape[0],), self.num_classes, device=x_t.device)
            labels = null if cond is None else cond.long()
            if drop_cond is not None and cond is not None:
                labels = torch.where(drop_cond, null, labels)
            cond = None
        x_in = self.cond.concat(x_t, cond, drop_cond)
        return self.unet(x_in, t, class_labels=labels).sample
