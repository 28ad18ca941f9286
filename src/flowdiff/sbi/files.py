"""A posterior as ONE file: the flowdiff checkpoint (weights and how to rebuild the network,
path and sampler) plus a ``posterior`` record with the training config and the prior.

Files written before one-file saving (a checkpoint with ``.hydra/config.yaml`` and
``<name>.simulations.npz`` beside it, no prior) still load.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

import lightning
import numpy as np
from hydra.utils import instantiate
from omegaconf import OmegaConf, open_dict

from flowdiff.checkpoints.atomic_io import atomic_torch_save
from flowdiff.checkpoints.loading import train_config
from flowdiff.checkpoints.reading import read_checkpoint
from flowdiff.checkpoints.weights import model_state_dict
from flowdiff.errors import CheckpointError
from flowdiff.model.devices import check_device
from flowdiff.model.module import GenerativeModule
from flowdiff.sbi.embeddings import EmbeddedNetwork
from flowdiff.sbi.prior_record import prior_record, rebuild_prior

log = logging.getLogger(__name__)

#: Version of the ``posterior`` record.
POSTERIOR_FORMAT = 1


def _file(path, verb: str) -> Path:
    """``path`` as a file path, refused (naming ``path``) when it is not one."""
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise CheckpointError(f"path={path!r} must be a file path (a str or pathlib.Path).")
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"path={str(path)!r} is a folder; {verb} a file in it, e.g. "
                              f"{str(path / 'posterior.pt')!r}.")  # fmt: skip
    if verb == "load" and not path.exists():
        raise CheckpointError(
            f"path={str(path)!r} does not exist; give the file posterior.save(path) wrote."
        )
    return path


def save_posterior(posterior, path: str | Path) -> Path:
    """Write ``posterior`` to ``path`` atomically (a crash leaves the old file or none)."""
    path = _file(path, "save")
    model = posterior.model
    checkpoint = {
        "state_dict": model.state_dict(),
        "hyper_parameters": dict(model.hparams),
        "pytorch-lightning_version": lightning.__version__,
        "global_step": int(posterior.global_step),
        "epoch": int(posterior.epoch),
    }
    model.on_save_checkpoint(checkpoint)
    record = None if posterior.prior is None else prior_record(posterior.prior)
    if posterior.prior is not None and record is None:
        warnings.warn(
            f"The prior ({type(posterior.prior).__name__}) cannot be stored as plain tensors, "
            f"so {path.name} holds no prior; pass it again: Posterior.load(path, prior=prior).",
            stacklevel=3,
        )
    config = posterior.config
    checkpoint["posterior"] = {
        "format": POSTERIOR_FORMAT,
        "config": None if config is None else OmegaConf.to_yaml(_portable(config)),
        "prior": record,
        "prior_type": None if posterior.prior is None else type(posterior.prior).__name__,
    }
    atomic_torch_save(checkpoint, path)
    return path


def _portable(config):
    """The config without Hydra's runtime node or the (temporary) run folder's paths."""
    config = config.copy()
    with open_dict(config):
        config.pop("hydra", None)
        config.data.file = None
    return config


def load_posterior(cls, path, prior=None, device: Any = "cpu", embedding_net=None):
    """The :class:`Posterior` saved at ``path`` (see :meth:`Posterior.load`)."""
    path = _file(path, "load")
    check_device(device)
    checkpoint = read_checkpoint(path, map_location="cpu")
    model = _model(checkpoint, path, embedding_net).to(device).eval()
    record = checkpoint.get("posterior")
    if record is None:  # written before one-file saving: the config sits beside it
        try:
            config = train_config(path)
        except FileNotFoundError:
            config = None
        return cls(model, prior, config)
    if prior is None and record.get("prior") is not None:
        prior = rebuild_prior(record["prior"])
    elif prior is None and record.get("prior_type"):
        log.warning(
            "%s was saved with a %s prior it could not store; draws are not restricted to the "
            "prior's support. Pass it: Posterior.load(path, prior=prior).",
            path,
            record["prior_type"],
        )
    config = OmegaConf.create(record["config"]) if record.get("config") else None
    posterior = cls(model, prior, config)
    posterior.global_step = int(checkpoint.get("global_step", 0))
    posterior.epoch = int(checkpoint.get("epoch", 0))
    return posterior


def _model(checkpoint, path, embedding_net) -> GenerativeModule:
    parts = checkpoint["flowdiff"]
    network = parts["network"]
    embedded = str(network.get("_target_", "")).endswith("EmbeddedNetwork")
    if not embedded or (network.get("embedding") is not None and embedding_net is None):
        try:
            return GenerativeModule.from_checkpoint(checkpoint)
        except RuntimeError as error:
            raise CheckpointError(
                f"path={str(path)!r}: its weights do not fit the network it describes "
                f"({str(error).splitlines()[0]})."
            ) from error
    built = EmbeddedNetwork(instantiate(network["network"]), embedding_net)
    model = GenerativeModule(
        network=built,
        path=instantiate(parts["path"]),
        sampler=instantiate(parts["sampler"]),
        **checkpoint["hyper_parameters"],
    )
    try:
        model.load_state_dict(model_state_dict(checkpoint))
    except RuntimeError as error:
        raise CheckpointError(
            f"embedding_net={type(embedding_net).__name__} does not fit the weights saved in "
            f"{str(path)!r} ({str(error).splitlines()[0]}); pass the same module as in fit()."
        ) from error
    return model


def write_run(posterior, folder: str | Path) -> Path:
    """``folder/checkpoints/posterior.ckpt``, ``folder/.hydra/config.yaml`` and the training
    simulations ``folder/simulations.npz``: what ``flowdiff-eval`` reads to rebuild the
    held-out split. Returns the checkpoint's path."""
    if posterior.config is None or posterior.simulations is None:
        raise CheckpointError(
            "write_run needs the training config and simulations, which only a posterior "
            "returned by PosteriorEstimator.fit holds; evaluate a loaded one with "
            "flowdiff.sbi.calibration(posterior, theta, x) on your own held-out simulations."
        )
    folder = Path(folder)
    (folder / ".hydra").mkdir(parents=True, exist_ok=True)
    data_file = folder / "simulations.npz"
    theta, x = posterior.simulations
    np.savez(data_file, x=theta.cpu().numpy(), cond=x.cpu().numpy())
    config = _portable(posterior.config)
    config.data.file = str(data_file.resolve())
    (folder / ".hydra" / "config.yaml").write_text(OmegaConf.to_yaml(config))
    return save_posterior(posterior, folder / "checkpoints" / "posterior.ckpt")
