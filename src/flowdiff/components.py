"""Components that remember how they were built, so a checkpoint can rebuild them.

A network, path or sampler records its constructor arguments (like diffusers' ``ConfigMixin``),
using Lightning's ``HyperparametersMixin``. :func:`describe` turns such an object back into a
Hydra config (``{"_target_": ..., **arguments}``) that ``hydra.utils.instantiate`` rebuilds.
"""

from __future__ import annotations

from typing import Any

from lightning.pytorch.core.mixins import HyperparametersMixin
from omegaconf import DictConfig, ListConfig, OmegaConf


class Component(HyperparametersMixin):
    """Base for paths and samplers: plain objects whose constructor arguments are recorded.

    Subclasses call ``self.save_hyperparameters()`` first thing in ``__init__``.
    """


def plain(value: Any) -> Any:
    """A recorded argument as plain Python: OmegaConf nodes resolved, tuples as lists."""
    if isinstance(value, (DictConfig, ListConfig)):
        return OmegaConf.to_container(value, resolve=True)
    if isinstance(value, tuple):
        return list(value)
    return value


def describe(obj: HyperparametersMixin) -> dict[str, Any]:
    """The Hydra config that rebuilds ``obj``: its class path and recorded arguments.

    Args:
        obj: a network, path or sampler that called ``save_hyperparameters()``.

    Returns:
        A plain dict (no OmegaConf nodes), safe to store in a checkpoint.
    """
    cls = type(obj)
    config = {"_target_": f"{cls.__module__}.{cls.__qualname__}"}
    config.update({key: plain(value) for key, value in obj.hparams.items()})
    return config
