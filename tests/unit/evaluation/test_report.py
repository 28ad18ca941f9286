"""Evaluation tables: Markdown and CSV files, and the Rich tables the terminal shows."""

from __future__ import annotations

import io

from rich.console import Console

from flowdiff.evaluation.report import columns_of, print_tables, write_table


def test_terminal_shows_rich_tables_not_markdown(tmp_path):
    rows = [
        {"run": "fm", "sampler": "midpoint", "nfe": 40, "w2": 0.123456, "c2st": 0.51},
        {"run": "real vs real", "w2": 0.05},
    ]
    write_table(tmp_path, "metrics", rows, columns_of(rows, ["run"]))
    write_table(tmp_path, "sweep", rows[:1], columns_of(rows[:1], ["run"]))
    assert "|---|" in (tmp_path / "metrics.md").read_text()  # the file stays Markdown

    out = io.StringIO()
    print_tables(tmp_path, Console(file=out, width=40))  # not a terminal, narrower than the table
    text = out.getvalue()
    assert "|---|" not in text and "┃" in text  # Rich's box drawing
    assert text.index("metrics.md") < text.index("sweep.md")  # comparison, metrics, sweep
    row = next(line for line in text.splitlines() if "real vs real" in line)
    assert "0.05" in row  # one line per row: widened, not wrapped, when not a terminal
    assert "0.1235" in text and "0.123456" not in text  # 4 significant digits, as in the .md
    assert "comparison.md" not in text  # only the tables that were written
