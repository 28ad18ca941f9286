"""Running flowdiff's console entry points in-process and reading their one-line errors."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import pytest

from flowdiff.cli import train as train_cli
from tests.helpers.config import TINY


def _rebind_log_handlers(monkeypatch) -> None:
    """Console log handlers made during an earlier test write to its closed capture stream."""
    loggers = [logging.getLogger(), *map(logging.getLogger, logging.Logger.manager.loggerDict)]
    for logger in loggers:
        for handler in logger.handlers:
            if type(handler) is logging.StreamHandler and handler.stream is not sys.stdout:
                monkeypatch.setattr(handler, "stream", sys.stderr)


def cli(main, args: list[str], capsys, monkeypatch, tmp_path: Path) -> tuple[int, str]:
    """Run a console entry point in-process; returns (exit code, stderr)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLOWDIFF_DEBUG", raising=False)
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    program = "flowdiff-" + main.__module__.rsplit(".", 1)[-1]  # flowdiff-train, -sample
    monkeypatch.setattr(sys, "argv", [program, *args])
    capsys.readouterr()
    _rebind_log_handlers(monkeypatch)
    with pytest.raises(SystemExit) as info:
        main()
    return info.value.code, capsys.readouterr().err


def train(args: list[str], capsys, monkeypatch, tmp_path: Path) -> tuple[int, str]:
    """``flowdiff-train`` with the tiny CPU settings, writing to ``tmp_path/run``."""
    run = f"hydra.run.dir={tmp_path / 'run'}"
    options = [a for a in args if a.startswith("--")]  # argparse wants them before overrides
    overrides = [a for a in args if not a.startswith("--")]
    return cli(train_cli.main, [*options, *TINY, run, *overrides], capsys, monkeypatch, tmp_path)


def error_line(err: str) -> str:
    """The single ``error:`` line of ``err``, which must hold no traceback.

    With ``FLOWDIFF_RECORD_MESSAGES=<file>`` each line is also appended there with its test's
    name: ``python -m tests.helpers.bad_input_table`` builds docs/reliability.md's table from them.
    """
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1, err[-2000:]
    assert "Traceback" not in err, err[-2000:]
    record = os.environ.get("FLOWDIFF_RECORD_MESSAGES")
    if record:
        test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
        with open(record, "a") as file:
            file.write(json.dumps({"test": test, "message": lines[0]}) + "\n")
    return lines[0]


def record_python_error(error: BaseException) -> None:
    """With ``FLOWDIFF_RECORD_MESSAGES=<file>``, append ``<ErrorType>: <message>`` of an error the
    Python API raised, tagged for docs/reliability.md's Python API table."""
    record = os.environ.get("FLOWDIFF_RECORD_MESSAGES")
    if record:
        test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
        line = f"{type(error).__name__}: {error}"
        with open(record, "a") as file:
            file.write(json.dumps({"test": test, "message": line, "table": "python"}) + "\n")
