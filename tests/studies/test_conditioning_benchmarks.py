"""Smoke runs of the conditioning benchmarks (``python -m studies.NAME --tiny``): each writes
its section and figure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SECTIONS = ["hdf5_events", "posterior_linear_gaussian", "scenes_goal_masks"]


@pytest.mark.slow
@pytest.mark.parametrize("section", SECTIONS)
def test_benchmark_tiny_run_writes_its_section(tmp_path: Path, section: str):
    output = tmp_path / "benchmarks.md"
    output.write_text(f"# Benchmarks\n\n<!-- {section}:start -->\nstale\n<!-- {section}:end -->\n")
    command = [sys.executable, "-m", f"studies.{section}", "--tiny", "--output", str(output)]
    run = subprocess.run(
        [*command, "--work", str(tmp_path / "work")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    text = output.read_text()
    assert "stale" not in text and text.count(f"<!-- {section}:start -->") == 1
    assert (tmp_path / f"{section}.png").is_file()
