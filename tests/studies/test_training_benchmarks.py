"""Smoke runs of the speed and quality benchmarks (``python -m studies.NAME --tiny``): each
writes its section (and plot)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from studies import quality_vs_nfe as bench

REPO = Path(__file__).resolve().parents[2]


def _run_module(name: str, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", f"studies.{name}", *arguments],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow  # three training subprocesses and an eval: minutes on a shared machine
def test_quality_vs_nfe_tiny(tmp_path: Path):
    output = tmp_path / "quality.md"
    output.write_text("# Notes\n\nIntro kept.\n\n<!-- quality_vs_nfe:start -->\nstale\n"
                      "<!-- quality_vs_nfe:end -->\n")  # fmt: skip
    run = _run_module("quality_vs_nfe", "--tiny", "--output", str(output), "--work", str(tmp_path))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    text = output.read_text()
    assert "Intro kept." in text and "stale" not in text
    assert "--tiny" in text and "Real vs real" in text
    for name in bench.MODELS:  # each model's sweep rows and its fewest-NFE line
        assert f"- **{name}**: best W2" in text
        assert re.search(rf"^\| {name} \|", text, flags=re.M), name
    plot = output.with_suffix(".png")
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"]({plot.name})" in text


def test_fewest_within_picks_the_cheapest_close_setting():
    rows = [
        {"run": "a", "kind": "euler", "steps": "4", "nfe": "4", "w2": "0.30"},
        {"run": "a", "kind": "euler", "steps": "8", "nfe": "8", "w2": "0.21"},
        {"run": "a", "kind": "rk4", "steps": "4", "nfe": "16", "w2": "0.20"},
        {"run": "a", "kind": "rk4", "steps": "1", "nfe": "4", "w2": "nan"},
    ]
    (line,) = bench.fewest_within(rows)
    assert "best W2 0.200 (rk4 x 4, NFE 16)" in line and "euler x 8 (NFE 8, W2 0.210)" in line


def test_overhead_tiny_writes_its_table(tmp_path: Path):
    output = tmp_path / "benchmarks.md"
    cases = ["--cases", "toy2d_mlp", "posterior_mlp"]
    run = _run_module("overhead", "--tiny", *cases, "--output", str(output))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    text = output.read_text()
    assert "<!-- overhead:start -->" in text and "<!-- overhead:end -->" in text
    assert "| posterior_mlp | 256 | 2 + 5 |" in text  # the posterior network, EMA on both sides
    row = next(line for line in text.splitlines() if line.startswith("| toy2d_mlp |"))
    cells = [cell.strip(" *") for cell in row.strip("|").split("|")]
    flowdiff, hand, median, hand_ms, extra_ms = (
        float(cells[3].replace(",", "")),
        float(cells[4].replace(",", "")),
        float(cells[6]),
        float(cells[7]),
        float(cells[8]),
    )
    assert cells[2] == "2 + 5"  # --tiny: warm-up + timed steps
    assert flowdiff > 0 and hand > 0
    assert abs(median - flowdiff / hand) < 0.01
    batch = int(cells[1])
    # the table prints samples/s to the unit: allow for that rounding (large on a busy machine,
    # where a tiny run's rates are low) besides the ms columns' own
    rounding = 1e3 * batch * 0.5 * (1 / flowdiff**2 + 1 / hand**2)
    assert hand_ms == pytest.approx(1e3 * batch / hand, abs=0.06 + rounding)
    assert extra_ms == pytest.approx(1e3 * batch * (1 / flowdiff - 1 / hand), abs=0.02 + rounding)

    job = _run_module("overhead", "--tiny", "--job", "--output", str(output))
    assert job.returncode == 0, job.stdout[-3000:] + job.stderr[-3000:]
    text = output.read_text()
    assert "<!-- overhead:start -->" in text, "--job writes its own section, keeping the other"
    section = text[text.index("<!-- overhead_job:start -->") : text.index("<!-- overhead_job:end")]
    cells = [c.strip() for c in section.split("\n| 1 |")[1].split("\n")[0].strip(" |").split("|")]
    flow_rate, hand_rate, ratio = (float(c) for c in cells[:3])
    assert flow_rate > 0 and hand_rate > 0
    rounding = (flow_rate / hand_rate) * 5e-4 * (1 / flow_rate + 1 / hand_rate)  # 3 decimals
    assert ratio == pytest.approx(flow_rate / hand_rate, abs=0.001 + rounding)


def test_gpu_throughput_tiny_runs_on_cpu(tmp_path: Path):
    output = tmp_path / "benchmarks.md"
    run = _run_module("gpu_throughput", "--tiny", "--output", str(output))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    text = output.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| DiT-tiny |")]
    assert [row.split("|")[4].strip() for row in rows] == ["32-true", "bf16-mixed"]
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert float(cells[2].replace(",", "")) > 0  # counted GFLOP per step
        assert float(cells[5].replace(",", "")) > 0 and float(cells[6].replace(",", "")) > 0
