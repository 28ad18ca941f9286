"""A --tiny run of ``studies.diffusion_steps`` writes its table and JSON (slow: trains 2 models)."""

import json
from pathlib import Path

import pytest

from studies import diffusion_steps


@pytest.mark.slow
def test_diffusion_steps_tiny(tmp_path: Path):
    output = tmp_path / "steps.md"
    diffusion_steps.main(
        ["--tiny", "--output", str(output), "--variants", "eps_cosine", "v_cosine"]
    )
    section = output.read_text()
    assert "**v_cosine**" in section and "| ddim |" in section
    record = json.loads(output.with_suffix(".toy2d.json").read_text())
    assert set(record["results"]) == {"eps_cosine", "v_cosine"}
    assert record["steps"] == [10, 250]
