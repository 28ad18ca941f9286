"""The posterior's network as objects: the configured one, the user's module, and an embedding
net in front of either (:class:`~flowdiff.sbi.embeddings.EmbeddedNetwork`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict
from torch import nn

from flowdiff.config.location import config_dir
from flowdiff.errors import ConfigError
from flowdiff.sbi.embeddings import EmbeddedNetwork, embedding_features

#: Where the embedding configs live (``embedding_net="cnn"`` reads ``cnn.yaml`` there).
EMBEDDINGS = ("model", "network", "embedding")


def embedding_config(name: str, x_shape: Sequence[int]) -> DictConfig:
    """The embedding config ``name`` for observations of ``x_shape``."""
    folder = Path(config_dir()).joinpath(*EMBEDDINGS)
    file = folder / f"{name}.yaml"
    if not file.is_file():
        names = sorted(p.stem for p in folder.glob("*.yaml"))
        raise ConfigError(f"embedding_net={name!r} is not one of {names} (or pass an nn.Module).")
    data = {"data": {"cond_shape": list(x_shape)}}
    return OmegaConf.merge(data, {"embedding": OmegaConf.load(file)}).embedding


def build_embedding(embedding_net: str | nn.Module, x_shape: Sequence[int]) -> nn.Module:
    """The embedding module, checked on two zero observations of ``x_shape``."""
    if isinstance(embedding_net, str):
        node = embedding_config(embedding_net, x_shape)
        try:
            embedding_net = instantiate(node)
        except Exception as error:
            cause = error.__cause__ or error
            raise ConfigError(f"embedding_net={embedding_net!r}: {cause}") from error
    try:
        embedding_features(embedding_net, x_shape)
    except Exception as error:
        raise ConfigError(
            f"embedding_net={type(embedding_net).__name__} cannot take observations of shape "
            f"[B, {', '.join(map(str, x_shape))}] ({type(error).__name__}: {error}); give a "
            "module mapping (B, *x_shape) to (B, features)."
        ) from error
    return embedding_net


def network_parts(
    cfg: DictConfig, network: str | nn.Module, embedding_net: Any, x_shape: Sequence[int]
) -> dict[str, nn.Module]:
    """``{"network": module}`` when the network is not simply the configured one (a module
    given, or an embedding net in front), else ``{}``. Seeded with the run's seed, as the
    configured network is."""
    if embedding_net is None:
        return {} if isinstance(network, str) else {"network": network}
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    embedding = build_embedding(embedding_net, x_shape)
    if isinstance(network, str):
        node = cfg.model.network.copy()
        with open_dict(node):
            node.cond_shape = [embedding_features(embedding, x_shape)]
        network = instantiate(node)
    return {"network": EmbeddedNetwork(network, embedding)}
