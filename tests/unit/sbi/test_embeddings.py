"""embedding_net=: images, time series and sets of trials go through an embedding trained with
the posterior, saved and reloaded with it; any nn.Module works, given again at load."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from flowdiff.errors import CheckpointError, ConfigError
from flowdiff.sbi import Posterior, PosteriorEstimator
from flowdiff.sbi.embeddings import CNN1dEmbedding, CNNEmbedding, SetEmbedding

TINY = dict(max_epochs=1, hidden=16, depth=1, batch_size=32, progress=False)


def observations(kind: str, theta: torch.Tensor) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    if kind == "cnn":  # 1 x 8 x 8 images whose brightness follows theta
        return theta[:, :1, None, None] + 0.1 * torch.randn(len(theta), 1, 8, 8, generator=g)
    if kind == "cnn1d":  # series of 16 steps
        steps = torch.linspace(0, 1, 16)
        return theta[:, :1] * steps + theta[:, 1:] + 0.1 * torch.randn(len(theta), 16, generator=g)
    return theta[:, None, :] + torch.randn(len(theta), 5, 2, generator=g)  # 5 trials of 2


@pytest.mark.parametrize("kind", ["cnn", "cnn1d", "set"])
def test_named_embeddings_train_save_and_reload(kind, tmp_path):
    theta = torch.randn(120, 2, generator=torch.Generator().manual_seed(1))
    x = observations(kind, theta)
    estimator = PosteriorEstimator(embedding_net=kind, overrides=["trainer=cpu"], **TINY)
    posterior = estimator.fit(theta, x)
    assert type(posterior.model.network.embedding).__name__.lower().startswith(kind[:3])
    loaded = Posterior.load(posterior.save(tmp_path / "p.ckpt"))
    seed = torch.Generator().manual_seed
    first = posterior.sample((10,), x=x[:2], generator=seed(0))
    assert first.shape == (10, 2, 2)
    assert torch.equal(first, loaded.sample((10,), x=x[:2], generator=seed(0)))


class Mean(nn.Module):
    """A user's embedding without recorded arguments."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 4)

    def forward(self, x):
        return self.linear(x.mean(1))


def test_any_module_embeds_and_is_given_again_at_load(tmp_path):
    theta = torch.randn(60, 2, generator=torch.Generator().manual_seed(1))
    x = observations("set", theta)
    posterior = PosteriorEstimator(embedding_net=Mean(), **TINY).fit(theta, x)
    path = posterior.save(tmp_path / "p.ckpt")
    with pytest.raises(CheckpointError, match="embedding_net=MyEmbedding"):
        Posterior.load(path)
    loaded = Posterior.load(path, embedding_net=Mean())
    seed = torch.Generator().manual_seed
    assert torch.equal(
        posterior.sample((5,), x=x[0], generator=seed(0)),
        loaded.sample((5,), x=x[0], generator=seed(0)),
    )


def test_embedding_shapes_and_permutation_invariance():
    assert CNNEmbedding([3, 16, 16], out_features=8)(torch.randn(2, 3, 16, 16)).shape == (2, 8)
    assert CNN1dEmbedding([20], out_features=8)(torch.randn(2, 20)).shape == (2, 8)
    sets = SetEmbedding([7, 3], out_features=8)
    x = torch.randn(2, 7, 3)
    assert torch.allclose(sets(x), sets(x[:, torch.randperm(7)]), atol=1e-6)


def test_unknown_or_unfitting_embedding_is_refused_before_training():
    theta, x = torch.randn(40, 2), torch.randn(40, 5)
    with pytest.raises(ConfigError, match="embedding_net='rnn' is not one of"):
        PosteriorEstimator(embedding_net="rnn", **TINY).fit(theta, x)
    with pytest.raises(ConfigError, match=r"cannot take observations of shape \[B, 5\]"):
        PosteriorEstimator(embedding_net=nn.Linear(3, 4), **TINY).fit(theta, x)
    with pytest.raises(ConfigError, match="embedding_net=int"):
        PosteriorEstimator(embedding_net=3)


def test_the_command_line_config_builds_the_same_embedded_network():
    from hydra.utils import instantiate

    from flowdiff.config import compose_config

    overrides = ["data=arrays", "data.shape=[2]", "data.cond_shape=[1,8,8]",
                 "model/network=embedded", "model/network/embedding=cnn"]  # fmt: skip
    cfg = compose_config("train", overrides, output_dir="unused")
    network = instantiate(cfg.model.network)
    assert type(network.embedding) is CNNEmbedding and network.embedding.out_features == 32
    out = network(torch.randn(3, 2), torch.rand(3), torch.randn(3, 1, 8, 8))
    assert out.shape == (3, 2)
