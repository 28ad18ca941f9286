"""Tables of evaluation results as Markdown and CSV files, as Rich tables for the terminal, and
records as JSON."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

#: the tables ``flowdiff-eval`` writes, in the order the terminal shows them
TABLES = ("comparison", "metrics", "sweep")


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


def _console_cell(text: str) -> str:
    """A CSV cell as the Markdown table shows it (numbers to 4 significant digits)."""
    try:
        return _cell(float(text)) if text and not text.isdigit() else text
    except ValueError:
        return text


def rich_table(file: Path) -> Table:
    """The table of a ``<name>.csv`` written by :func:`write_table`, titled with its Markdown
    twin's name; numeric columns right-aligned."""
    with open(file, newline="") as handle:
        reader = csv.DictReader(handle)
        rows = [[_console_cell(row[c] or "") for c in reader.fieldnames or []] for row in reader]
        columns = list(reader.fieldnames or [])
    table = Table(title=file.with_suffix(".md").name, title_justify="left")
    for i, column in enumerate(columns):
        numeric = all(_is_number(row[i]) for row in rows if row[i])
        table.add_column(column, justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*row)
    return table


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def print_tables(folder: Path, console: Console | None = None) -> None:
    """Print the evaluation tables under ``folder`` as Rich tables. Output that is not a
    terminal (a pipe, a log file) is made wide enough that no cell wraps."""
    console = console or Console()
    for name in TABLES:
        file = folder / f"{name}.csv"
        if not file.is_file():
            continue
        table = rich_table(file)
        if not console.is_terminal:
            wide = console.options.update_width(10_000)
            console.width = max(console.width, console.measure(table, options=wide).maximum)
        console.print(table)
