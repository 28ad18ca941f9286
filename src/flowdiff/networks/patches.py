"""Cutting images ``(B, C, H, W)`` and signals ``(B, C, L)`` into patch tokens and back."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from flowdiff.networks.transformer import sincos_positions, sincos_positions_2d


def check_patchable(owner: str, data_shape: Sequence[int], patch_size: int) -> tuple[int, ...]:
    """The token grid ``spatial // patch_size`` of data ``[C, *spatial]`` (1 or 2 spatial axes).

    Raises:
        ValueError: naming ``data_shape`` or ``patch_size`` when they do not fit.
    """
    if len(data_shape) not in (2, 3):
        raise ValueError(
            f"{owner} takes images [C, H, W] or signals [C, L], but data_shape="
            f"{list(data_shape)}; use an MLP or TokenTransformer for vectors "
            "(model/network=mlp or tokens)."
        )
    if patch_size < 1 or any(size % patch_size for size in data_shape[1:]):
        raise ValueError(
            f"patch_size={patch_size} must divide the spatial size {list(data_shape[1:])} of "
            f"data_shape={list(data_shape)}; pick a divisor."
        )
    return tuple(size // patch_size for size in data_shape[1:])


def conv(spatial_dims: int) -> type[nn.Module]:
    """``nn.Conv1d`` for signals, ``nn.Conv2d`` for images."""
    return nn.Conv1d if spatial_dims == 1 else nn.Conv2d


class PatchEmbed(nn.Module):
    """A strided convolution from ``(B, C, *spatial)`` to tokens ``(B, N, hidden)``."""

    def __init__(self, in_channels: int, hidden: int, patch_size: int, spatial_dims: int):
        super().__init__()
        self.proj = conv(spatial_dims)(in_channels, hidden, patch_size, stride=patch_size)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


def unpatchify(tokens: Tensor, channels: int, grid: Sequence[int], patch_size: int) -> Tensor:
    """Tokens ``(B, prod(grid), patch_size ** d * channels)`` back to ``(B, channels, *spatial)``
    with ``spatial = grid * patch_size`` (``d = len(grid)`` is 1 or 2)."""
    batch, p = tokens.shape[0], patch_size
    if len(grid) == 1:
        x = tokens.reshape(batch, grid[0], p, channels).permute(0, 3, 1, 2)
        return x.reshape(batch, channels, grid[0] * p)
    (gh, gw) = grid
    x = tokens.reshape(batch, gh, gw, p, p, channels).permute(0, 5, 1, 3, 2, 4)
    return x.reshape(batch, channels, gh * p, gw * p)


def grid_positions(grid: Sequence[int], hidden: int) -> Tensor:
    """Fixed sine-cosine positions ``(prod(grid), hidden)`` of a 1-D or 2-D token grid."""
    if len(grid) == 1:
        return sincos_positions(grid[0], hidden)
    if hidden % 4:
        raise ValueError(f"hidden={hidden} must be divisible by 4 for images.")
    return sincos_positions_2d(grid[0], grid[1], hidden)
