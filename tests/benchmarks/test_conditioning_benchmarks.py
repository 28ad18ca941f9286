"""Smoke runs of the conditioning benchmarks: each --tiny run writes its section and figure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = {
    "scenes_goal_masks": "scenes_goal_masks.py",
    "hdf5_events": "hdf5_events.py",
    "posterior_linear_gaussian": "posterior_linear_gaussian.py",
    "guidance_digits": "guidance_digits.py",
}


@pytest.mark.slow
@pytest.mark.parametrize("section", sorted(SCRIPTS))
def test_benchmark_tiny_run_writes_its_section(tmp_path: Path, section: str):
    output = tmp_path / "benchmarks.md"
    output.write_text(f"# Benchmarks\n\n<!-- {section}:start -->\nstale\n<!-- {section}:end -->\n")
    script = REPO / "benchmarks" / SCRIPTS[section]
    command = [sys.executable, str(script), "--tiny", "--output", str(output)]
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
