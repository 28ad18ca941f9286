"""The README's commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def quickstart_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    quickstart = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", quickstart)


def test_quickstart_has_exactly_the_two_setup_commands():
    train, test = quickstart_commands()
    assert train.endswith("flowdiff-train") and "pip install -e ." in train
    assert test.endswith("pytest") and "'.[dev]'" in test


def test_ci_runs_the_readme_test_command():
    _, test = quickstart_commands()
    assert test in (ROOT / ".ci" / "run").read_text().splitlines()
