"""Run the notebooks top to bottom and store them with their outputs, so that their figures show
on a web page (GitHub renders a stored notebook's outputs).

    .venv/bin/python notebooks/execute.py            # every notebook here, in place

Each notebook runs in a fresh kernel in a temporary folder (its runs land there, not in the
repository). Log lines on stderr (Lightning's device report, warnings) are left out of the stored
outputs; results, printed text and figures are kept. The notebook's metadata records a hash of its
code cells: ``tests/integration/test_notebook.py`` fails when a code cell changed after the
outputs were stored, and its slow test runs the notebook again.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent


def code_hash(notebook: nbformat.NotebookNode) -> str:
    """SHA-256 of the notebook's code cells, in order."""
    sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    return hashlib.sha256(json.dumps(sources).encode()).hexdigest()


def without_logs(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook without stderr streams (logs and warnings, which name temporary paths)."""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [
                out
                for out in cell.outputs
                if not (out.output_type == "stream" and out.get("name") == "stderr")
            ]
    return notebook


def execute(path: Path, timeout: int = 900) -> nbformat.NotebookNode:
    """Run ``path`` in a fresh kernel inside a temporary folder; returns the executed notebook."""
    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="flowdiff-notebook-") as folder:
        client = NotebookClient(
            notebook,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": folder}},
        )
        client.execute(env={**os.environ})
    notebook.metadata["flowdiff"] = {"code_sha256": code_hash(notebook)}
    return without_logs(notebook)


def main() -> None:
    paths = [Path(arg) for arg in sys.argv[1:]] or sorted(HERE.glob("*.ipynb"))
    for path in paths:
        nbformat.write(execute(path), path)
        print(f"executed and stored {path}")


if __name__ == "__main__":
    main()
