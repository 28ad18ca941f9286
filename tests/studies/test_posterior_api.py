"""A --tiny run of ``studies.posterior_api`` writes its section with every table filled."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # about 2 min on a shared CPU: four tiny fits, sampling, C2ST and SBC
def test_posterior_api_tiny(tmp_path: Path):
    output = tmp_path / "benchmarks.md"
    output.write_text("# Benchmarks\n\nIntro kept.\n")
    command = [sys.executable, "-m", "studies.posterior_api", "--tiny", "--output", str(output)]
    run = subprocess.run(
        [*command, "--work", str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=900
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    text = output.read_text()
    assert "Intro kept." in text
    section = text[text.index("<!-- posterior_api:start -->") :]
    assert "| linear_gaussian | 300 |" in section and "| squares | 300 |" in section
    assert section.count("| yes |") == 2  # both routes give the same weights on both tasks
    assert "| exact posterior |" in section and "| exact, std x 0.7 |" in section
