"""What a network accepts as ``cond``, and how it enters: an embedding or extra input channels.

Three kinds of condition travel beside ``x`` in a batch:

* ``labels``: class indices ``(B,)`` (``num_classes > 0``);
* ``vector``: features ``(B, *cond_shape)``, flattened to ``(B, prod(cond_shape))``;
* ``image``: context ``(B, C, *spatial)`` with the data's own spatial size, concatenated to the
  noisy input's channels (``cond_shape = [C, *spatial]``).

Labels and vectors are embedded and added to the time embedding; image context becomes input
channels, optionally with a coordinate grid (one channel per spatial axis, in [-1, 1]).
Every network declares the kinds it ``accepts``; a config asking for another kind is refused when
the network is built, and a batch whose ``cond`` disagrees with the config when it arrives.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import torch
from torch import Tensor, nn

from flowdiff.networks.embeddings import ConditionEmbedding

LABELS, VECTOR, IMAGE = "labels", "vector", "image"

#: Networks to suggest when one does not accept a kind of condition: the classes, and the
#: ``model/network`` config of each in brackets.
SUGGESTIONS = {
    LABELS: "MLP, DiT, CNN, ResNet, Hybrid or UNet (model/network=mlp, dit, cnn, resnet, "
    "hybrid or unet)",
    VECTOR: "MLP, TokenTransformer, DiT, CNN, ResNet or Hybrid (model/network=mlp, tokens, dit, "
    "cnn, resnet or hybrid)",
    IMAGE: "DiT, CNN, ResNet, Hybrid or UNet (model/network=dit, cnn, resnet, hybrid or unet)",
}


def cond_kind(
    data_shape: Sequence[int], num_classes: int, cond_shape: Sequence[int] | None, image_ok: bool
) -> str | None:
    """The kind of condition a config describes, or ``None`` for an unconditional network.

    ``cond_shape`` is image context when the data is an image or signal (``[C, *spatial]``) and
    ``cond_shape`` has as many axes (unless ``image_ok`` is false, as for token networks whose
    ``[dim, channels]`` layout reads differently); a vector otherwise.
    """
    if num_classes and cond_shape:
        raise ValueError(
            f"num_classes={num_classes} and cond_shape={list(cond_shape)} both set; a network "
            "takes one kind of cond. Set num_classes=0 or cond_shape=None."
        )
    if num_classes:
        return LABELS
    if not cond_shape:
        return None
    if image_ok and len(data_shape) >= 2 and len(cond_shape) == len(data_shape):
        return IMAGE
    return VECTOR


class ConditionInput(nn.Module):
    """A network's condition handling: checks, embeds, or concatenates ``cond``.

    Args:
        owner: the network's class name, for messages.
        accepts: kinds the network accepts (``labels``, ``vector``, ``image``).
        data_shape: shape of one sample.
        dim: width of the embedding returned by :meth:`embed`; 0 builds no embedding (for a
            network that embeds labels itself and uses this only for checks and context).
        num_classes: class-conditional when > 0.
        cond_shape: shape of one vector or image-context condition, or ``None``.
        add_coord_grid: append a coordinate grid to the input channels (images and signals).
    """

    def __init__(
        self,
        owner: str,
        accepts: Iterable[str],
        data_shape: Sequence[int],
        dim: int,
        num_classes: int = 0,
        cond_shape: Sequence[int] | None = None,
        add_coord_grid: bool = False,
    ):
        super().__init__()
        self.owner = owner
        self.data_shape = tuple(data_shape)
        self.cond_shape = tuple(cond_shape) if cond_shape else None
        self.kind = cond_kind(self.data_shape, num_classes, self.cond_shape, image_ok=True)
        if self.kind is not None and self.kind not in accepts:
            raise ValueError(
                f"{owner} does not accept {self.kind} conditions (num_classes={num_classes}, "
                f"cond_shape={cond_shape}); it accepts "
                f"{sorted(accepts) or 'none'}. Use {SUGGESTIONS[self.kind]}."
            )
        if add_coord_grid and len(self.data_shape) < 2:
            raise ValueError(
                f"add_coord_grid=True needs image or signal data [C, *spatial], but "
                f"data_shape={list(data_shape)}; set add_coord_grid=False."
            )
        if self.kind == IMAGE and self.cond_shape[1:] != self.data_shape[1:]:
            raise ValueError(
                f"{owner}: image context of cond_shape={list(self.cond_shape)} must have the "
                f"data's spatial size {list(self.data_shape[1:])}; resize the context."
            )
        self.add_coord_grid = add_coord_grid
        cond_dim = math.prod(self.cond_shape) if self.kind == VECTOR else 0
        self.embedding = (
            ConditionEmbedding(dim, num_classes=num_classes, cond_dim=cond_dim) if dim else None
        )
        if self.kind == IMAGE:
            # The null context is a learned constant per channel, distinct from any real mask.
            self.null_context = nn.Parameter(torch.zeros(self.cond_shape[0]))

    @property
    def context_channels(self) -> int:
        """Channels :meth:`concat` adds to the input: context plus coordinate grid."""
        context = self.cond_shape[0] if self.kind == IMAGE else 0
        grid = len(self.data_shape) - 1 if self.add_coord_grid else 0
        return context + grid

    @property
    def in_channels(self) -> int:
        """Input channels after :meth:`concat` (data channels first)."""
        return self.data_shape[0] + self.context_channels

    def check(self, cond: Tensor | None, batch_size: int) -> None:
        """Refuse a ``cond`` that disagrees with how the network was built, naming the argument
        to fix."""
        if cond is None:
            return
        if self.kind is None:
            raise ValueError(
                f"{self.owner} was built unconditional but received cond of shape "
                f"{list(cond.shape)}; build it with num_classes=<number of labels> or "
                "cond_shape=<shape of one condition>."
            )
        expected = (batch_size,) if self.kind == LABELS else (batch_size, *self.cond_shape)
        fits = tuple(cond.shape) == expected
        if self.kind == VECTOR and not fits:
            fits = cond.shape[0] == batch_size and cond[0].numel() == math.prod(self.cond_shape)
        if not fits:
            fix = "num_classes=<number of labels>" if self.kind == LABELS else "cond_shape=<shape>"
            raise ValueError(
                f"{self.owner} was built for {self.kind} conditions of shape {list(expected)} "
                f"but received cond of shape {list(cond.shape)}; build it with {fix} matching "
                "the data's cond."
            )

    def embed(self, cond: Tensor | None, batch_size: int, drop: Tensor | None = None) -> Tensor:
        """Embedding ``(B, dim)`` of labels or vectors; the null embedding otherwise."""
        if self.kind in (LABELS, VECTOR):
            return self.embedding(cond, batch_size, drop)
        return self.embedding(None, batch_size)

    def inputs(
        self, x_t: Tensor, cond: Tensor | None, drop: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """What a network starts from: ``x_t`` with context channels, ``(B, in_channels, ...)``
        (:meth:`concat`), and the condition's embedding ``(B, dim)`` (:meth:`embed`), after
        :meth:`check`."""
        self.check(cond, x_t.shape[0])
        return self.concat(x_t, cond, drop), self.embed(cond, x_t.shape[0], drop)

    def concat(self, x_t: Tensor, cond: Tensor | None, drop: Tensor | None = None) -> Tensor:
        """``x_t`` ``(B, C, *spatial)`` with context and grid channels appended:
        ``(B, in_channels, *spatial)``."""
        parts = [x_t]
        if self.kind == IMAGE:
            shape = (x_t.shape[0], -1, *([1] * (x_t.dim() - 2)))
            null = self.null_context.to(x_t.dtype).reshape(1, -1, *([1] * (x_t.dim() - 2)))
            context = null.expand(x_t.shape[0], -1, *x_t.shape[2:])
            if cond is not None:
                keep = torch.ones(x_t.shape[0], dtype=torch.bool, device=x_t.device)
                keep = keep if drop is None else ~drop
                context = torch.where(keep.reshape(shape), cond.to(x_t.dtype), context)
            parts.append(context)
        if self.add_coord_grid:
            parts.append(coordinate_grid(x_t))
        return torch.cat(parts, dim=1) if len(parts) > 1 else x_t


def coordinate_grid(x: Tensor) -> Tensor:
    """Coordinates in [-1, 1] for ``x`` ``(B, C, *spatial)``: ``(B, len(spatial), *spatial)``,
    channel ``i`` varying along spatial axis ``i``."""
    axes = [torch.linspace(-1.0, 1.0, n, device=x.device, dtype=x.dtype) for n in x.shape[2:]]
    grid = torch.stack(torch.meshgrid(*axes, indexing="ij"))
    return grid.expand(x.shape[0], *grid.shape)
