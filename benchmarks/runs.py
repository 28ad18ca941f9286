"""Helpers for benchmarks that train through ``flowdiff-train``: run it, read its scalars."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from report import machine, now  # noqa: F401 (the report header's, re-exported for the scripts)

REPO = Path(__file__).resolve().parent.parent
#: CPU, no progress bar, one final figure: what every benchmark run adds to its overrides.
QUIET = ["trainer=cpu", "callbacks.progress_bar=null", "callbacks.sample_figures.every_n_epochs=0"]


def train_command(config_name: str, overrides: list[str]) -> list[str]:
    """The ``flowdiff-train`` command line (the entry point beside this Python, if installed)."""
    entry = Path(sys.executable).with_name("flowdiff-train")
    program = [str(entry)] if entry.exists() else [sys.executable, "-m", "flowdiff.cli.train"]
    return [*program, f"--config-name={config_name}", *overrides]


def run_training(
    config_name: str, overrides: list[str], run_dir: Path, reuse: bool = False
) -> tuple[Path, float]:
    """Run ``flowdiff-train`` into a fresh ``run_dir``; returns its ``last.ckpt`` and the wall
    time. With ``reuse``, a finished run of the same command in ``run_dir`` is taken as is."""
    command = train_command(config_name, [*overrides, *QUIET, f"hydra.run.dir={run_dir}"])
    record = run_dir / "benchmark_run.txt"
    if reuse and record.is_file():
        seconds, recorded = record.read_text().split("\n", 1)
        if recorded == shlex.join(command[1:]):
            print("reusing", run_dir, flush=True)
            return run_dir / "checkpoints" / "last.ckpt", float(seconds)
    shutil.rmtree(run_dir, ignore_errors=True)
    print("$", shlex.join(command), flush=True)
    start = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"flowdiff-train failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    seconds = time.perf_counter() - start
    record.write_text(f"{seconds}\n{shlex.join(command[1:])}")
    return run_dir / "checkpoints" / "last.ckpt", seconds


def shown_command(config_name: str, overrides: list[str], names: dict[str, str]) -> str:
    """The command as a reader would type it, with temporary paths replaced by ``names``."""
    text = shlex.join(["flowdiff-train", f"--config-name={config_name}", *overrides])
    for path, name in names.items():
        text = text.replace(str(path), name)
    return text


def scalars(run_dir: Path, tag: str) -> list[tuple[int, float]]:
    """``(step, value)`` of a TensorBoard scalar of the run, in step order."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"scalars": 0})
    events.Reload()
    return [(event.step, event.value) for event in events.Scalars(tag)]
