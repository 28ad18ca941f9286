"""Tiny trained runs for the sampling and evaluation tests: a run folder with a checkpoint and a
``.hydra/config.yaml`` whose data the tools rebuild, trained in a few seconds on the CPU."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.core.mixins import HyperparametersMixin
from omegaconf import OmegaConf
from torch import Tensor, nn

from flowdiff.data.in_memory import InMemoryDataModule
from flowdiff.model.module import GenerativeModule
from flowdiff.networks import MLP
from flowdiff.paths import FlowMatchingPath
from flowdiff.samplers import ODESampler


class VectorConditionalData(InMemoryDataModule):
    """``x = A @ cond + noise`` ``(N, 2)`` given ``cond`` ``(N, 3)``: vectors given vectors."""

    def __init__(self, num_samples: int = 400, **kwargs):
        kwargs.setdefault("shape", (2,))
        kwargs.setdefault("cond_shape", (3,))
        super().__init__(**kwargs)
        self.num_samples = num_samples

    def load(self) -> tuple[Tensor, Tensor]:
        generator = torch.Generator().manual_seed(self.seed)
        cond = torch.randn(self.num_samples, 3, generator=generator)
        noise = 0.1 * torch.randn(self.num_samples, 2, generator=generator)
        return cond[:, :2] + cond[:, 2:] + noise, cond


class ContextData(InMemoryDataModule):
    """Images ``(N, 1, 4, 4)`` given two context channels ``(N, 2, 4, 4)``."""

    def __init__(self, num_samples: int = 200, **kwargs):
        kwargs.setdefault("shape", (1, 4, 4))
        kwargs.setdefault("cond_shape", (2, 4, 4))
        super().__init__(**kwargs)
        self.num_samples = num_samples

    def load(self) -> tuple[Tensor, Tensor]:
        context = torch.rand(self.num_samples, 2, 4, 4, generator=torch.Generator().manual_seed(0))
        return context.mean(1, keepdim=True), context


class ContextNet(HyperparametersMixin, nn.Module):
    """A network that takes image context ``(B, C, H, W)`` concatenated to ``x_t``."""

    def __init__(self, data_shape, context_channels: int = 2):
        super().__init__()
        self.save_hyperparameters()
        self.conv = nn.Conv2d(data_shape[0] + context_channels + 1, data_shape[0], 3, padding=1)

    def forward(self, x_t: Tensor, t: Tensor, cond: Tensor | None = None) -> Tensor:
        if cond is None:
            cond = torch.zeros(x_t.shape[0], self.hparams.context_channels, *x_t.shape[2:])
        time = t.view(-1, 1, 1, 1).expand(-1, 1, *x_t.shape[2:])
        return self.conv(torch.cat([x_t, cond.to(x_t), time.to(x_t)], dim=1))


def make_run(folder: Path, data_config: dict, network: nn.Module, steps: int = 20) -> Path:
    """Train ``network`` on the data ``data_config`` builds, as a run folder with
    ``checkpoints/last.ckpt`` and ``.hydra/config.yaml``; returns the checkpoint."""
    from hydra.utils import instantiate

    (folder / ".hydra").mkdir(parents=True, exist_ok=True)
    OmegaConf.save(OmegaConf.create({"data": data_config}), folder / ".hydra" / "config.yaml")
    datamodule = instantiate(data_config)
    model = GenerativeModule(
        network,
        FlowMatchingPath(),
        ODESampler(steps=4),
        data_shape=data_config["shape"],
        optimizer=lambda params: torch.optim.Adam(params, lr=1e-2),
    )
    trainer = L.Trainer(
        max_steps=steps,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=folder,
    )
    trainer.fit(model, datamodule=datamodule)
    ckpt = folder / "checkpoints" / "last.ckpt"
    trainer.save_checkpoint(ckpt)
    return ckpt


def vector_run(folder: Path) -> Path:
    data = {"_target_": "tests.helpers.runs.VectorConditionalData", "shape": [2], "batch_size": 64}
    return make_run(folder, data, MLP(data_shape=[2], hidden=32, depth=2, cond_shape=[3]))


def context_run(folder: Path) -> Path:
    data = {"_target_": "tests.helpers.runs.ContextData", "shape": [1, 4, 4], "batch_size": 50}
    return make_run(folder, data, ContextNet(data_shape=[1, 4, 4]), steps=5)
