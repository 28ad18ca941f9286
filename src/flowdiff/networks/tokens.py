"""A transformer over tokens for vector problems: every parameter and every observed value is a
token with its own identity embedding (as GenSBI's Simformer and Flux1 models treat them).

Shapes follow the ``(batch, dim, channels)`` convention of simulation-based inference: ``x`` is
``(B, dim_obs, ch_obs)`` (``dim_obs`` parameters, ``ch_obs`` values each; ``(B, dim_obs)`` means
``ch_obs = 1``) and ``cond`` is ``(B, dim_cond, ch_cond)`` (or ``(B, dim_cond)``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from lightning.pytorch.core.mixins import HyperparametersMixin
from torch import Tensor, nn

from flowdiff.networks.conditioning import SUGGESTIONS, VECTOR, cond_kind
from flowdiff.networks.embeddings import SinusoidalTimeEmbedding
from flowdiff.networks.transformer import AdaLNFinal, AdaLNZeroBlock


def token_layout(shape: Sequence[int], key: str) -> tuple[int, int]:
    """``(dim, channels)`` of ``[dim]`` or ``[dim, channels]``, or a message naming ``key``."""
    if len(shape) == 1:
        return shape[0], 1
    if len(shape) == 2:
        return shape[0], shape[1]
    raise ValueError(
        f"TokenTransformer takes {key} as [dim] or [dim, channels] (batch, dim, channels "
        f"convention), not {list(shape)}; use DiT or CNN for images (model/network=dit or cnn)."
    )


class TokenTransformer(HyperparametersMixin, nn.Module):
    """Joint self-attention over parameter tokens and observation tokens, modulated by time.

    Each token's value is embedded by a linear map (one for parameters, one for observations)
    and added to a learned identity embedding of its position, so the network knows which
    parameter or observable each token is. The null condition (unconditional generation and
    classifier-free guidance) replaces every observation value by a learned null value.

    Args:
        data_shape: ``[dim_obs]`` or ``[dim_obs, ch_obs]``.
        cond_shape: ``[dim_cond]`` or ``[dim_cond, ch_cond]``, or ``None`` (unconditional).
        hidden: token width (divisible by ``heads``).
        depth: number of transformer blocks.
        heads: attention heads.
        mlp_ratio: feed-forward width relative to ``hidden``.
        num_classes: must be 0: class labels are not token conditions.
    """

    accepts = (VECTOR,)

    def __init__(
        self,
        data_shape: Sequence[int],
        cond_shape: Sequence[int] | None = None,
        hidden: int = 128,
        depth: int = 4,
        heads: int = 4,
        mlp_ratio: float = 4.0,
        num_classes: int = 0,
    ):
        super().__init__()
        self.save_hyperparameters()
        kind = cond_kind(data_shape, num_classes, cond_shape, image_ok=False)
        if kind not in (None, VECTOR):
            raise ValueError(
                f"TokenTransformer does not accept {kind} conditions (num_classes="
                f"{num_classes}); use {SUGGESTIONS[kind]}."
            )
        self.dim_obs, self.ch_obs = token_layout(data_shape, "data_shape")
        self.dim_cond, self.ch_cond = token_layout(cond_shape, "cond_shape") if kind else (0, 0)
        self.time = SinusoidalTimeEmbedding(hidden)
        self.obs_in = nn.Linear(self.ch_obs, hidden)
        self.identity = nn.Parameter(torch.randn(self.dim_obs + self.dim_cond, hidden) * 0.02)
        if self.dim_cond:
            self.cond_in = nn.Linear(self.ch_cond, hidden)
            self.null_value = nn.Parameter(torch.zeros(hidden))
        self.blocks = nn.ModuleList(AdaLNZeroBlock(hidden, heads, mlp_ratio) for _ in range(depth))
        self.final = AdaLNFinal(hidden, self.ch_obs)

    def _cond_tokens(self, cond: Tensor | None, batch: int, drop: Tensor | None) -> Tensor:
        """Observation tokens ``(B, dim_cond, hidden)``, null where ``cond`` is absent/dropped."""
        null = self.null_value.expand(batch, self.dim_cond, -1)
        if cond is None:
            return null
        if cond.shape[0] != batch or cond[0].numel() != self.dim_cond * self.ch_cond:
            raise ValueError(
                f"TokenTransformer was built for cond of shape [B, {self.dim_cond}, "
                f"{self.ch_cond}] (cond_shape={self.hparams.cond_shape}) but received "
                f"{list(cond.shape)}; make cond_shape match the data's cond."
            )
        tokens = self.cond_in(cond.reshape(batch, self.dim_cond, self.ch_cond).to(null.dtype))
        return tokens if drop is None else torch.where(drop[:, None, None], null, tokens)

    def forward(
        self, x_t: Tensor, t: Tensor, cond: Tensor | None = None, drop_cond: Tensor | None = None
    ) -> Tensor:
        """Map ``x_t`` ``(B, dim_obs[, ch_obs])``, ``t`` ``(B,)`` and ``cond`` to x_t's shape."""
        batch = x_t.shape[0]
        if cond is not None and not self.dim_cond:
            raise ValueError(
                "TokenTransformer was built unconditional but received cond; build it with "
                "cond_shape=<shape of one condition>."
            )
        h = self.obs_in(x_t.reshape(batch, self.dim_obs, self.ch_obs))
        if self.dim_cond:
            h = torch.cat([h, self._cond_tokens(cond, batch, drop_cond)], dim=1)
        h = h + self.identity
        emb = self.time(t)
        for block in self.blocks:
            h = block(h, emb)
        return self.final(h[:, : self.dim_obs], emb).reshape(x_t.shape)
