"""adaLN-Zero transformer blocks (Peebles & Xie, DiT), shared by the DiT, token and hybrid
networks."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F


def modulate(h: Tensor, shift: Tensor, scale: Tensor) -> Tensor:
    """``h * (1 + scale) + shift`` with per-sample ``shift``/``scale`` ``(B, D)`` over tokens
    ``h`` ``(B, N, D)``."""
    return h * (1 + scale[:, None]) + shift[:, None]


class Attention(nn.Module):
    """Multi-head self-attention over tokens ``(B, N, D)`` with PyTorch's fused
    ``scaled_dot_product_attention``."""

    def __init__(self, hidden: int, heads: int):
        super().__init__()
        if hidden % heads:
            raise ValueError(f"hidden={hidden} must be divisible by heads={heads}.")
        self.heads = heads
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.proj = nn.Linear(hidden, hidden)

    def forward(self, h: Tensor) -> Tensor:
        batch, tokens, hidden = h.shape
        qkv = self.qkv(h).reshape(batch, tokens, 3, self.heads, hidden // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B, heads, N, D / heads)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(batch, tokens, hidden))


class AdaLNZeroBlock(nn.Module):
    """Pre-norm transformer block whose norms are modulated by a conditioning embedding, with
    gates initialised to zero so the block starts as the identity.

    Args:
        hidden: token width.
        heads: attention heads.
        mlp_ratio: width of the feed-forward layer relative to ``hidden``.
    """

    def __init__(self, hidden: int, heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(hidden, heads)
        self.norm2 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        width = int(hidden * mlp_ratio)
        self.mlp = nn.Sequential(
            nn.Linear(hidden, width), nn.GELU(approximate="tanh"), nn.Linear(width, hidden)
        )
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden, 6 * hidden))
        nn.init.zeros_(self.modulation[1].weight)
        nn.init.zeros_(self.modulation[1].bias)

    def forward(self, h: Tensor, emb: Tensor) -> Tensor:
        """Tokens ``h`` ``(B, N, D)`` and embedding ``emb`` ``(B, D)`` to tokens ``(B, N, D)``."""
        shift1, scale1, gate1, shift2, scale2, gate2 = self.modulation(emb).chunk(6, dim=-1)
        h = h + gate1[:, None] * self.attn(modulate(self.norm1(h), shift1, scale1))
        return h + gate2[:, None] * self.mlp(modulate(self.norm2(h), shift2, scale2))


class AdaLNFinal(nn.Module):
    """Modulated norm and a zero-initialised projection from tokens to ``out_features`` each."""

    def __init__(self, hidden: int, out_features: int):
        super().__init__()
        self.norm = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden, 2 * hidden))
        self.linear = nn.Linear(hidden, out_features)
        for layer in (self.modulation[1], self.linear):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, h: Tensor, emb: Tensor) -> Tensor:
        """Tokens ``(B, N, D)`` to ``(B, N, out_features)``."""
        shift, scale = self.modulation(emb).chunk(2, dim=-1)
        return self.linear(modulate(self.norm(h), shift, scale))


def sincos_positions(tokens: int, hidden: int) -> Tensor:
    """Fixed 1-D sine-cosine position table ``(tokens, hidden)`` (``hidden`` even)."""
    position = torch.arange(tokens, dtype=torch.float64)[:, None]
    freqs = 1.0 / 10_000 ** (torch.arange(hidden // 2, dtype=torch.float64) / (hidden // 2))
    angles = position * freqs[None]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1).float()


def sincos_positions_2d(height: int, width: int, hidden: int) -> Tensor:
    """Fixed 2-D sine-cosine table ``(height * width, hidden)``: half the features encode the
    row, half the column (``hidden`` divisible by 4)."""
    rows = sincos_positions(height, hidden // 2)
    cols = sincos_positions(width, hidden // 2)
    grid = torch.cat(
        [rows[:, None].expand(-1, width, -1), cols[None].expand(height, -1, -1)], dim=-1
    )
    return grid.reshape(height * width, hidden)
