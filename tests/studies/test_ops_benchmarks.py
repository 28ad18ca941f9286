"""Smoke run of ``python -m studies.exact_resume``: a small run still resumes bit for bit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_exact_resume_benchmark_reports_zero(tmp_path):
    output = tmp_path / "benchmarks.md"
    command = [
        sys.executable, "-m", "studies.exact_resume",
        "--epochs", "2", "--batches", "2", "--output", str(output),
    ]  # fmt: skip
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    text = output.read_text()
    assert "<!-- exact_resume:start -->" in text
    for part in ("raw weights", "EMA weights", "optimizer state"):
        assert f"| {part} | 0 |" in text
