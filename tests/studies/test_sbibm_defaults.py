"""The defaults study runs end to end on a tiny budget, ranks what it ran and reports it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from flowdiff.sbi.settings import budget_settings
from studies import sbibm_defaults

FILES = Path(__file__).parent / "data" / "sbibm_tasks"


def test_ranks_and_gaps_are_per_task_and_budget():
    rows = {
        ("a", 1, "x"): {"c2st": [0.6, 0.8]},
        ("a", 1, "y"): {"c2st": [0.6, 0.6]},
        ("b", 1, "x"): {"c2st": [0.5]},
        ("b", 1, "y"): {"c2st": [0.9]},
        ("c", 1, "x"): {"c2st": [0.5]},  # y did not run on c: no rank there
    }
    assert sbibm_defaults.ranks(rows, ["x", "y"]) == {
        ("a", 1, "x"): 2, ("a", 1, "y"): 1, ("b", 1, "x"): 1, ("b", 1, "y"): 2,
    }  # fmt: skip
    assert sbibm_defaults.gaps(rows, ("b", 1, "y"), ["x", "y"]) == pytest.approx(0.4)
    assert sbibm_defaults.gaps(rows, ("c", 1, "x"), ["x", "y"]) == 0.0  # only x ran on c
    assert sbibm_defaults.compare(rows, [("a", 1, "y"), ("b", 1, "y")]) == "0 / 0"  # no current


def test_the_default_candidate_is_the_rule_of_the_estimator():
    for budget in (1_000, 10_000):
        default = sbibm_defaults.CANDIDATES["default"](budget)
        assert default == budget_settings(budget)  # what PosteriorEstimator applies
        # the third round's pick (docs/benchmarks.md): the scaled rule with half its patience
        assert default == sbibm_defaults.CANDIDATES["scaled_half_patience"](budget)
        before = sbibm_defaults.CANDIDATES["small_scaled"](budget)
        assert before["patience"] > default["patience"] and before["hidden"] == 128


@pytest.mark.slow
def test_tiny_run_fits_scores_and_reports(tmp_path, monkeypatch):
    output, work = tmp_path / "bench.md", tmp_path / "work"
    argv = ["sbibm_defaults", "--tiny", "--tasks", "slcp", "ring", "--sbibm", str(FILES)]
    argv += ["--methods", "current", "wide_scaled", "NPE", "--chosen", "300=wide_scaled"]
    argv += ["--output", str(output), "--work", str(work)]
    monkeypatch.setattr(sys, "argv", argv)
    sbibm_defaults.main()
    rows = [json.loads(line) for line in (work / "results.jsonl").read_text().splitlines()]
    assert {(r["task"], r["method"]) for r in rows} == {
        (t, m) for t in ("slcp", "ring") for m in ("current", "wide_scaled", "NPE")
    }
    assert all(len(r["c2st"]) == 1 and 0.0 <= r["c2st"][0] <= 1.0 for r in rows)
    text = output.read_text()
    assert "| mean rank among candidates |" in text and "| slcp | 300 |" in text
    assert "### 300 simulations" in text and "| ring | flowdiff |" in text
    sbibm_defaults.main()  # a second run fits nothing again
    assert len((work / "results.jsonl").read_text().splitlines()) == len(rows)
