"""The console scripts, run as a user runs them: from another working directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.config import TINY

BIN = Path(sys.executable).parent


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HYDRA_FULL_ERROR": "1"}
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    """A run folder made by ``flowdiff-train`` started outside the repository."""
    cwd = tmp_path_factory.mktemp("user")
    run([str(BIN / "flowdiff-train"), *TINY, "run_name=cli"], cwd)
    return cwd / "outputs" / "cli"


def test_train_writes_the_run_folder(trained_run):
    assert (trained_run / ".hydra" / "config.yaml").is_file()
    assert (trained_run / "checkpoints" / "last.ckpt").is_file()
    assert list((trained_run / "checkpoints").glob("epoch000-val_loss*.ckpt"))
    assert list((trained_run / "tensorboard").glob("events.out.tfevents.*"))
    assert (trained_run / "samples" / "final.png").is_file()


def test_sample_with_a_sampler_override(trained_run, tmp_path):
    out = tmp_path / "samples"
    run(
        [
            str(BIN / "flowdiff-sample"),
            f"ckpt_path={trained_run}/checkpoints/last.ckpt",
            "num_samples=25",
            "batch_size=10",
            "model.sampler.method=rk4",
            "sampling_steps=3",
            f"output_dir={out}",
        ],
        tmp_path,
    )
    arrays = np.load(out / "samples.npz")
    assert arrays["x"].shape == (25, 1, 8, 8)
    assert arrays["cond"].tolist()[:12] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    info = json.loads((out / "samples.json").read_text())
    assert info["sampler"]["method"] == "rk4" and info["sampler"]["steps"] == 3
    assert info["nfe_per_batch"] == 12  # rk4: 4 evaluations x 3 steps
    assert (out / "samples.png").stat().st_size > 1000


def test_sample_with_another_sampler_family_member(trained_run, tmp_path):
    run(
        [
            str(BIN / "flowdiff-sample"),
            f"ckpt_path={trained_run}/checkpoints/last.ckpt",
            "num_samples=4",
            "model/sampler=torchdyn",
            "model.sampler.solver=euler",
            "sampling_steps=5",
            f"output_dir={tmp_path}",
        ],
        tmp_path,
    )
    info = json.loads((tmp_path / "samples.json").read_text())
    assert info["sampler"]["_target_"].endswith("TorchdynSampler") and info["nfe_total"] == 5


def test_sample_default_folder_is_inside_the_run(trained_run, tmp_path):
    run(
        [
            str(BIN / "flowdiff-sample"),
            f"ckpt_path={trained_run}/checkpoints/last.ckpt",
            "num_samples=3",
        ],
        tmp_path,
    )
    assert list((trained_run / "samples").glob("*/samples.npz"))
