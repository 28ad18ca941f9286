"""A --tiny run of ``studies.diffusion_steps`` writes its table and JSON (slow: trains 2 models)."""

import json
import math
from pathlib import Path

import pytest

from studies import diffusion_steps


def test_z_score_tells_an_excess_from_noise():
    floor = [0.10, 0.12, 0.09, 0.11, 0.10, 0.13, 0.08, 0.11]
    assert diffusion_steps.z_score([0.16, 0.17, 0.15, 0.16], floor) > 2
    assert abs(diffusion_steps.z_score([0.10, 0.12, 0.09, 0.11], floor)) < 1
    assert math.isnan(diffusion_steps.z_score([0.2], [0.1]))


@pytest.mark.slow
def test_diffusion_steps_tiny(tmp_path: Path):
    output = tmp_path / "steps.md"
    variants = ["--variants", "eps_cosine", "v_cosine"]
    draws = ["--seeds", "2", "--floor-pairs", "3", "--label", "two"]
    diffusion_steps.main(["--tiny", "--output", str(output), *variants, *draws])
    section = output.read_text()
    assert "**v_cosine**" in section and "| ddim |" in section
    assert "diffusion_steps_toy2d_two:start" in section and " +- " in section
    record = json.loads(output.with_suffix(".toy2d_two.json").read_text())
    assert set(record["results"]) == {"eps_cosine", "v_cosine"}
    assert record["steps"] == [10, 250] and len(record["floor"]) == 3
    assert all(len(draws) == 2 for draws in record["results"]["v_cosine"]["ddim"].values())
    # an epsilon model's DPM-Solver++ schedule at 250 steps starts short: refused, and said so
    assert math.isnan(record["results"]["eps_cosine"]["dpmsolver++"]["250"][0])
    assert "refused" in section
