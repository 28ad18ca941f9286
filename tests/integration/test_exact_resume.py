"""Exact resume: N straight steps equal N/2 steps, a stop, and a resume for N/2 more, bit for bit
(weights, EMA weights, optimizer and schedule state) on the CPU with deterministic=true."""

from __future__ import annotations

from pathlib import Path

import torch
from lightning import seed_everything

from flowdiff.training import build
from tests.helpers.config import TINY, compose_config
from tests.helpers.faults import StopAfterEpoch

SMALL = [
    *TINY,
    "experiment=toy2d",
    "data.num_samples=2000",
    "model.network.hidden=32",
    "model.network.depth=1",
    "max_epochs=4",
    "trainer.limit_train_batches=3",
    "deterministic=true",
    "model/lr_scheduler=cosine",
    "model.lr_scheduler.warmup_steps=3",
    "callbacks.sample_figures.every_n_epochs=1",
    "callbacks.sample_figures.num_samples=16",
]


def fit(output_dir: Path, *overrides: str, stop_after: int | None = None):
    """What ``flowdiff.training.train`` does, with an optional simulated interruption."""
    cfg = compose_config("train", [*SMALL, *overrides], output_dir=output_dir)
    seed_everything(cfg.seed, workers=True)
    datamodule, model, trainer = build(cfg)
    if stop_after is not None:
        trainer.callbacks.append(StopAfterEpoch(stop_after))
    trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    return trainer


def max_abs_difference(a, b) -> float:
    """Largest absolute difference between two nested structures of tensors and numbers."""
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        return max((max_abs_difference(a[k], b[k]) for k in a), default=0.0)
    if isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        return max((max_abs_difference(x, y) for x, y in zip(a, b, strict=True)), default=0.0)
    if isinstance(a, torch.Tensor):
        return (a.double() - b.double()).abs().max().item() if a.numel() else 0.0
    if isinstance(a, (int, float)):
        return abs(a - b)
    return 0.0 if a == b else float("inf")


def test_half_then_resume_equals_straight_bitwise(tmp_path):
    straight = fit(tmp_path / "straight")
    half = fit(tmp_path / "resumed", stop_after=1)
    assert half.global_step == 6
    last = tmp_path / "resumed" / "checkpoints" / "last.ckpt"
    resumed = fit(tmp_path / "resumed", f"ckpt_path={last}")
    assert straight.global_step == resumed.global_step == 12

    a = torch.load(tmp_path / "straight" / "checkpoints" / "last.ckpt", weights_only=False)
    b = torch.load(last, weights_only=False)
    for key in ("current_model_state", "state_dict", "averaging_state", "optimizer_states"):
        assert max_abs_difference(a[key], b[key]) == 0.0, key
    assert a["lr_schedulers"] == b["lr_schedulers"]
    assert a["global_step"] == b["global_step"] and a["epoch"] == b["epoch"]
