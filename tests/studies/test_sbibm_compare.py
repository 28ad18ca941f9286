"""The sbibm comparison study runs end to end on a tiny budget and reports what it ran."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from studies import sbibm_compare

FILES = Path(__file__).parent / "data" / "sbibm_tasks"


@pytest.mark.slow
def test_tiny_run_fits_scores_and_reports(tmp_path, monkeypatch):
    output, work = tmp_path / "bench.md", tmp_path / "work"
    argv = ["sbibm_compare", "--tiny", "--tasks", "slcp", "--sbibm", str(FILES)]
    argv += ["--output", str(output), "--work", str(work)]
    monkeypatch.setattr(sys, "argv", argv)
    sbibm_compare.main()
    rows = [json.loads(line) for line in (work / "results.jsonl").read_text().splitlines()]
    fits = [r for r in rows if r["kind"] == "fit"]
    scores = [r for r in rows if r["kind"] == "c2st"]
    assert {r["method"] for r in fits} == {"flowdiff", "NPE", "FMPE"}
    assert len(scores) == 3 * 2  # three methods, two observations
    assert all(0.0 <= r["c2st"] <= 1.0 for r in scores)
    text = output.read_text()
    assert "<!-- sbibm_compare:start -->" in text and "### 200 simulations" in text
    assert "| slcp | FMPE |" in text and "not run" not in text
    # a second run fits nothing again and scores nothing again
    sbibm_compare.main()
    assert len((work / "results.jsonl").read_text().splitlines()) == len(rows)
