"""DDP on the CPU: the multi_gpu preset runs two gloo processes to completion with the loss
falling, and its checkpoint resumes in a single process."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

COMMON = [
    "experiment=toy2d",
    "data.num_samples=4000",
    "model.network.hidden=64",
    "model/lr_scheduler=constant",
    "base_lr=1e-3",
    "trainer.limit_val_batches=2",
    "callbacks.progress_bar=null",
    "sampling_steps=4",
    "run_name=ddp",
]


def flowdiff_train(cwd: Path, *overrides: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    command = [sys.executable, "-m", "flowdiff.cli.train", *COMMON, *overrides]
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.slow
def test_ddp_on_cpu_trains_and_resumes_in_one_process(tmp_path):
    flowdiff_train(
        tmp_path,
        "trainer=multi_gpu",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        "max_epochs=4",
    )
    run = tmp_path / "outputs" / "ddp"
    with open(run / "metrics.csv") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 4
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])
    start = json.loads((run / "events.jsonl").read_text().splitlines()[0])
    assert start["world_size"] == 2 and start["precision"] == "32-true"  # 16-mixed fell back
    ddp_steps = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)["global_step"]

    flowdiff_train(
        tmp_path, "trainer=cpu", "max_epochs=5", f"ckpt_path={run}/checkpoints/last.ckpt"
    )
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    assert events[-1]["event"] == "end" and events[-1]["epoch"] == 5
    resumed = [e for e in events if e["event"] == "start"][-1]
    assert resumed["world_size"] == 1 and resumed["step"] == ddp_steps
    final = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)
    # One more epoch on one process: twice the batches per epoch of each DDP rank.
    assert final["global_step"] == ddp_steps + 2 * ddp_steps // 4
