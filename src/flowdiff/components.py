"""Components that remember how they were built, so a checkpoint can rebuild them.

A network, path or sampler records its constructor arguments (like diffusers' ``ConfigMixin``),
using Lightning's ``HyperparametersMixin``. :func:`describe` turns such an object back into a
Hydra config (``{"_target_": ..., **arguments}``) that ``hydra.utils.instantiate`` rebuilds.

A component is named by its public import path (``flowdiff.networks.CNN``, what its package
exports), never by the file it lives in, so files can move without breaking saved models;
:data:`COMPONENTS` lists the stored names with the full paths earlier versions stored.
"""

from __future__ import annotations

import importlib
from typing import Any

from lightning.pytorch.core.mixins import HyperparametersMixin
from omegaconf import DictConfig, ListConfig, OmegaConf

#: public name of every component a checkpoint or Hub folder stores -> older names stored for it
COMPONENTS: dict[str, tuple[str, ...]] = {
    "flowdiff.networks.CNN": ("flowdiff.networks.cnn.CNN",),
    "flowdiff.networks.DiT": ("flowdiff.networks.dit.DiT",),
    "flowdiff.networks.Hybrid": ("flowdiff.networks.hybrid.Hybrid",),
    "flowdiff.networks.MLP": ("flowdiff.networks.mlp.MLP",),
    "flowdiff.networks.ResNet": ("flowdiff.networks.resnet.ResNet",),
    "flowdiff.networks.TokenTransformer": ("flowdiff.networks.tokens.TokenTransformer",),
    "flowdiff.networks.UNet": ("flowdiff.networks.unet.UNet",),
    "flowdiff.paths.DiffusionPath": ("flowdiff.paths.diffusion.DiffusionPath",),
    "flowdiff.paths.FlowMatchingPath": ("flowdiff.paths.flow_matching.FlowMatchingPath",),
    "flowdiff.paths.MeanFlowPath": (),
    "flowdiff.samplers.DiffusersSampler": ("flowdiff.samplers.diffusers.DiffusersSampler",),
    "flowdiff.samplers.MeanFlowSampler": (),
    "flowdiff.samplers.ODESampler": ("flowdiff.samplers.ode.ODESampler",),
    "flowdiff.samplers.TorchdynSampler": ("flowdiff.samplers.torchdyn.TorchdynSampler",),
    "flowdiff.sbi.CNN1dEmbedding": (),
    "flowdiff.sbi.CNNEmbedding": (),
    "flowdiff.sbi.EmbeddedNetwork": (),
    "flowdiff.sbi.MLPEmbedding": (),
    "flowdiff.sbi.SetEmbedding": (),
    "flowdiff.distillation.TeacherCoupling": (
        "flowdiff.distillation.teacher_coupling.TeacherCoupling",
    ),  # a flow-matching path's coupling (reflow)
    "flowdiff.distillation.TeacherVelocity": (),  # a mean-flow path's teacher
}
#: an older stored name -> its public name
ALIASES: dict[str, str] = {old: new for new, olds in COMPONENTS.items() for old in olds}


def public_name(cls: type) -> str:
    """``cls``'s import path from the package that exports it (``flowdiff.networks.CNN``), or
    its full path when its package does not export it."""
    package = cls.__module__.rpartition(".")[0]
    exported = package.startswith("flowdiff") and cls.__qualname__ == cls.__name__
    if exported and getattr(importlib.import_module(package), cls.__name__, None) is cls:
        return f"{package}.{cls.__name__}"
    return f"{cls.__module__}.{cls.__qualname__}"


def current_name(target: str) -> str:
    """The public name of a stored ``_target_`` (older full paths mapped by :data:`ALIASES`)."""
    return ALIASES.get(target, target)


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
    """The Hydra config that rebuilds ``obj``: its public class name and recorded arguments.

    Args:
        obj: a network, path or sampler that called ``save_hyperparameters()``.

    Returns:
        A plain dict (no OmegaConf nodes), safe to store in a checkpoint.
    """
    config = {"_target_": public_name(type(obj))}
    config.update({key: plain(value) for key, value in obj.hparams.items()})
    return config
