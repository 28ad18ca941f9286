"""``tests.helpers.kill_test`` at a small scale: SIGKILL a real run (at a random moment and in the
middle of overwriting last.ckpt), resume each time, and finish."""

from __future__ import annotations

import pytest

from tests.helpers import kill_test


@pytest.mark.slow
def test_sigkill_never_costs_more_than_the_last_checkpoint(tmp_path):
    result = kill_test.run(kills=4, work=tmp_path / "kill", seed=1, delay=(0.0, 4.0))
    summary = result["summary"]
    assert summary["kills"] == 4
    assert summary["kills_mid_write"] >= 1, "at least one kill must land inside a write"
    assert summary["corrupt_checkpoints"] == 0
    assert summary["step_never_decreased"]
    # Kill 2 waits for an overwrite of last.ckpt, so kills 3 and 4 always resume from it.
    assert summary["resumes_restored"] == summary["resumes_attempted"] >= 2
    final = summary["final_resume"]
    assert final["rc"] == 0 and final["restored"] and final["step_after"] > final["step_before"]
