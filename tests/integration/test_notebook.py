"""notebooks/quickstart.ipynb and posterior_quickstart.ipynb are stored with the outputs of their
current code (so their figures show on a web page), and run top to bottom (the slow layer, with a
short training)."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOK = NOTEBOOKS / "quickstart.ipynb"
sys.path.insert(0, str(NOTEBOOKS))
from execute import code_hash, execute  # noqa: E402  (notebooks/execute.py)

REFRESH = "re-run `python notebooks/execute.py` and commit the notebook"


def output_kinds(notebook: nbformat.NotebookNode) -> list[list[str]]:
    """Per code cell, the kinds of its outputs: stdout text, images, other results. Consecutive
    stdout streams count once: how the kernel splits a cell's printed text into messages depends
    on timing (a loaded machine flushes a cell's two prints apart), and notebooks show them as one.
    """
    kinds = []
    for cell in (cell for cell in notebook.cells if cell.cell_type == "code"):
        cell_kinds: list[str] = []
        for out in cell.outputs:
            image = "image/png" in out.get("data", {})
            kind = "image" if image else out.get("name", out.output_type)
            if not (kind == "stdout" and cell_kinds[-1:] == ["stdout"]):
                cell_kinds.append(kind)
        kinds.append(cell_kinds)
    return kinds


def stored_outputs(notebook) -> list:
    """The outputs of ``notebook``'s code cells, checked to come from its current code, run in
    order from the top, with no error."""
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    stored = notebook.metadata.get("flowdiff", {}).get("code_sha256")
    assert stored == code_hash(notebook), f"a code cell changed since it was run: {REFRESH}"
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1)), REFRESH
    outputs = [out for cell in code for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    return outputs


def test_notebook_is_stored_with_the_outputs_of_its_current_code():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    outputs = stored_outputs(notebook)
    assert sum(kinds.count("image") for kinds in output_kinds(notebook)) == 3
    text = "".join(out.get("text", "") for out in outputs)
    assert "validation loss" in text and "bits_per_dim" in text and "same samples: True" in text
    assert "/tmp/" not in text and " at 0x" not in text  # nothing that changes from run to run


@pytest.mark.slow  # about 30-60 s: a kernel start and two epochs
def test_notebook_runs_top_to_bottom_with_the_stored_kinds_of_output(monkeypatch):
    monkeypatch.setenv("FLOWDIFF_NOTEBOOK_EPOCHS", "2")
    fresh = execute(NOTEBOOK, timeout=300)
    outputs = [out for cell in fresh.cells for out in cell.get("outputs", [])]
    assert not [out for out in outputs if out.output_type == "error"]
    stored = nbformat.read(NOTEBOOK, as_version=4)
    assert output_kinds(fresh) == output_kinds(stored), REFRESH
    assert fresh.metadata["flowdiff"]["code_sha256"] == code_hash(stored)


POSTERIOR = NOTEBOOKS / "posterior_quickstart.ipynb"


def test_posterior_notebook_is_stored_with_the_outputs_of_its_current_code():
    notebook = nbformat.read(POSTERIOR, as_version=4)
    outputs = stored_outputs(notebook)
    assert sum(kinds.count("image") for kinds in output_kinds(notebook)) == 3  # corner, SBC, TARP
    text = "".join(out.get("text", "") for out in outputs)
    assert "acceptance rate" in text and "sbc_min_p" in text
    assert "calibrated: True True | over-confident: False False" in text
    assert "/tmp/" not in text and " at 0x" not in text


@pytest.mark.slow  # about 1-2 min: a kernel start, two epochs, sampling and calibration
def test_posterior_notebook_runs_top_to_bottom_with_the_stored_kinds_of_output(monkeypatch):
    monkeypatch.setenv("FLOWDIFF_NOTEBOOK_EPOCHS", "2")
    fresh = execute(POSTERIOR, timeout=600)
    outputs = [out for cell in fresh.cells for out in cell.get("outputs", [])]
    assert not [out for out in outputs if out.output_type == "error"]
    assert output_kinds(fresh) == output_kinds(nbformat.read(POSTERIOR, as_version=4)), REFRESH
    text = "".join(out.get("text", "") for out in outputs)
    assert "over-confident: False False" in text  # flagged even after two epochs
