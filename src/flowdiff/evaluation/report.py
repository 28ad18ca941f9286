"""Tables of evaluation results as Markdown and CSV, and records as JSON."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def columns_of(rows: Sequence[dict[str, Any]], first: Sequence[str] = ()) -> list[str]:
    """``first`` then every other key of ``rows``, in order of appearance."""
    columns = [c for c in first if any(c in row for row in rows)]
    for row in rows:
        columns += [key for key in row if key not in columns]
    return columns


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A Markdown table of ``rows`` (dicts) with the given ``columns``; blanks where absent."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |")
    return "\n".join(lines)


def write_table(folder: Path, name: str, rows: Sequence[dict[str, Any]], columns) -> None:
    """``<name>.md`` and ``<name>.csv`` under ``folder``."""
    (folder / f"{name}.md").write_text(markdown_table(rows, columns) + "\n")
    with open(folder / f"{name}.csv", "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def write_json(path: Path, record: dict[str, Any]) -> None:
    """``record`` as indented JSON (non-JSON values as strings)."""
    path.write_text(json.dumps(record, indent=2, default=str) + "\n")
