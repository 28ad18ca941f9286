"""Runs a page's blocks in order, in one working folder, as a user would type them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.acceptance.blocks import Block
from tests.acceptance.limits import logical_lines, with_limits

#: Seconds one command may take before the suite calls it hung.
TIMEOUT = 900


def environment() -> dict[str, str]:
    """The test's environment with this interpreter's scripts first on ``PATH`` (``flowdiff-*``,
    ``python``) and ``PYTHONPATH`` made absolute (the commands run in another folder)."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    paths = [str(Path(p).resolve()) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    for key in ("FLOWDIFF_DEBUG", "HYDRA_FULL_ERROR", "PYTEST_CURRENT_TEST"):
        env.pop(key, None)
    return env


def _run(args: list[str], where: str, cwd: Path) -> None:
    done = subprocess.run(
        args, cwd=cwd, env=environment(), capture_output=True, text=True, timeout=TIMEOUT
    )
    if done.returncode != 0:
        output = (done.stdout + done.stderr)[-4000:]
        raise AssertionError(f"{where}: exit code {done.returncode}\n$ {args[-1]}\n{output}")


def run_block(block: Block, cwd: Path) -> list[str]:
    """Run ``block`` in ``cwd``; returns what was run (the commands, or ``python <file>``).

    Shell: each command on its own (``bash -c``), with the suite's limits appended
    (:mod:`tests.acceptance.limits`). Python: the block as a file, run by this interpreter.
    """
    if block.language == "python":
        script = cwd / f"block_{Path(block.page).stem}_{block.line}.py"
        script.write_text(block.text + "\n")
        _run([sys.executable, script.name], block.where, cwd)
        return [f"python {script.name}"]
    commands = [with_limits(line) for line in logical_lines(block.text)]
    for command in commands:
        _run(["bash", "-euo", "pipefail", "-c", command], block.where, cwd)
    return commands
