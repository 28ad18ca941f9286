"""Crash safety under DDP: a 2-process run (gloo on the CPU) SIGKILLed at a random moment resumes
from its last.ckpt and ends bitwise equal to the same run left alone (weights, EMA weights,
optimizer and schedule state), as the single-process run does (test_exact_resume.py)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.integration.test_exact_resume import max_abs_difference

COMMON = [
    "experiment=toy2d",
    "data.num_samples=2000",
    "model.network.hidden=32",
    "model.network.depth=1",
    "trainer=multi_gpu",
    "trainer.accelerator=cpu",
    "trainer.devices=2",
    "max_epochs=12",  # long enough that a kill after 1-3 epochs and 0.5 s lands mid-run
    "trainer.limit_train_batches=4",
    "trainer.limit_val_batches=1",
    "deterministic=true",
    "model/lr_scheduler=cosine",
    "model.lr_scheduler.warmup_steps=3",
    "callbacks.progress_bar=null",
    "callbacks.sample_figures=null",
    "sampling_steps=2",
]


def _command(*overrides: str) -> list[str]:
    return [sys.executable, "-m", "flowdiff.cli.train", *COMMON, *overrides]


def _env() -> dict[str, str]:
    root = Path(__file__).parents[2]
    return {**os.environ, "PYTHONPATH": f"{root / 'src'}:{root}", "OMP_NUM_THREADS": "1"}


def _run(cwd: Path, *overrides: str) -> None:
    result = subprocess.run(
        _command(*overrides), cwd=cwd, env=_env(), capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def _kill_midway(cwd: Path, last: Path, rng: random.Random) -> int:
    """Start the run, SIGKILL its process group after a random number of epoch checkpoints and a
    random delay; returns the step of the last.ckpt it left."""
    process = subprocess.Popen(
        _command("run_name=killed"),
        cwd=cwd,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # rank 1 is rank 0's child: kill the whole group
    )
    wanted, seen, stamp = rng.randint(1, 3), 0, None
    deadline = time.monotonic() + 600
    while seen < wanted and time.monotonic() < deadline and process.poll() is None:
        if last.is_file() and last.stat().st_mtime_ns != stamp:
            stamp, seen = last.stat().st_mtime_ns, seen + 1
        time.sleep(0.02)
    time.sleep(rng.uniform(0.0, 0.5))
    assert process.poll() is None, "the run ended before it could be killed; make it longer"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    return int(torch.load(last, weights_only=False)["global_step"])


def _killed_before_the_end(cwd: Path, total: int, rng: random.Random) -> Path:
    """Kill runs in fresh folders until one dies before its final step (a kill that lands in the
    run's teardown, after its last checkpoint, is not a mid-run kill); returns its last.ckpt."""
    for attempt in range(3):
        folder = cwd / f"attempt{attempt}"
        folder.mkdir()
        last = folder / "outputs" / "killed" / "checkpoints" / "last.ckpt"
        if 0 < _kill_midway(folder, last, rng) < total:
            return last
    pytest.fail("three kills in a row landed after the run's last step; make the run longer")


@pytest.mark.slow
def test_ddp_run_killed_at_random_resumes_bitwise_equal(tmp_path):
    straight_dir, killed_dir = tmp_path / "straight", tmp_path / "killed"
    straight_dir.mkdir(), killed_dir.mkdir()
    _run(straight_dir, "run_name=straight")
    a = torch.load(
        straight_dir / "outputs" / "straight" / "checkpoints" / "last.ckpt", weights_only=False
    )
    total = a["global_step"]  # 12 epochs of the batches each rank's half of the data fills
    assert total >= 12

    last = _killed_before_the_end(killed_dir, total, random.Random(int(time.time())))
    _run(last.parents[3], "run_name=killed", f"ckpt_path={last}")

    b = torch.load(last, weights_only=False)
    assert b["global_step"] == total and a["epoch"] == b["epoch"]
    for key in ("state_dict", "current_model_state", "optimizer_states"):
        assert max_abs_difference(a[key], b[key]) == 0.0, key
    assert a["lr_schedulers"] == b["lr_schedulers"]
