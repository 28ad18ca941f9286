"""What a :class:`~flowdiff.model.GenerativeModule` checkpoint records beside the weights, and the
module rebuilt from that record alone (no Hydra config needed)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hydra.utils import instantiate
from torch import nn

from flowdiff.checkpoints.upgrade import RECORD_FORMAT
from flowdiff.checkpoints.weights import model_state_dict
from flowdiff.components import describe, public_name

if TYPE_CHECKING:
    from flowdiff.model.module import GenerativeModule
    from flowdiff.samplers.base import Sampler


def parts_record(network: nn.Module, path: Any, sampler: Any) -> dict[str, Any]:
    """The checkpoint's ``flowdiff`` record: how to rebuild the network, path and sampler."""
    return {
        "format": RECORD_FORMAT,
        "network": describe(network),
        "path": describe(path),
        "sampler": describe(sampler),
    }


def _target(factory: Any) -> str | None:
    """``module.qualname`` of what a (partial) factory builds; ``None`` for no factory."""
    if factory is None:
        return None
    built = getattr(factory, "func", factory)
    if not hasattr(built, "__qualname__"):  # an instance with __call__
        built = type(built)
    return public_name(built)


def optimizer_record(module: Any) -> dict[str, str | None]:
    """What a checkpoint records of how the module is optimised: the optimizer's and the
    schedule's import paths (``None``: no schedule)."""
    return {
        "optimizer": _target(getattr(module, "optimizer_factory", None)),
        "lr_scheduler": _target(getattr(module, "lr_scheduler_factory", None)),
    }


def rebuild(
    cls: type[GenerativeModule],
    checkpoint: dict[str, Any],
    map_location: Any = "cpu",
    sampler: Sampler | None = None,
    ema: bool = True,
    **overrides: Any,
) -> GenerativeModule:
    """``cls`` rebuilt from a checkpoint read with
    :func:`~flowdiff.checkpoints.reading.read_checkpoint`, in eval mode on ``map_location``.

    Args:
        cls: the module class (``GenerativeModule`` or a subclass).
        checkpoint: the checkpoint dictionary (upgraded to the current record format).
        map_location: device for the weights.
        sampler: a sampler to use instead of the recorded one.
        ema: the EMA weights when the run kept them, else the raw ones.
        **overrides: replace saved hyperparameters.
    """
    parts = checkpoint["flowdiff"]
    model = cls(
        network=instantiate(parts["network"]),
        path=instantiate(parts["path"]),
        sampler=sampler if sampler is not None else instantiate(parts["sampler"]),
        **{**checkpoint["hyper_parameters"], **overrides},
    )
    model.load_state_dict(model_state_dict(checkpoint, ema=ema))
    return model.to(map_location).eval()
