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


def test_quality_vs_nfe_tiny(tmp_path: Path):
    output = tmp_path / "benchmarks.md"
    output.write_text(
        "# Benchmarks\n\nIntro kept.\n\n"
        f"{bench.START}\nstale section\n{bench.END}\n\n## Other benchmark\n\nAlso kept.\n"
    )
    run = _run_module("quality_vs_nfe", "--tiny", "--output", str(output))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    text = output.read_text()
    assert text.count(bench.START) == 1 and text.count(bench.END) == 1
    assert "stale section" not in text
    assert "Intro kept." in text and "Also kept." in text
    section = text[text.index(bench.START) : text.index(bench.END)]
    assert "| family | sampler | steps | NFE | W2 | sliced W | sample time s |" in section
    assert "Noise floor" in section
    assert "--tiny" in section  # the exact command is recorded

    rows = [
        line
        for line in section.splitlines()
        if re.match(r"\| (flow matching|flow matching \+ OT|diffusion) \|", line)
    ]
    expected = bench.settings()
    assert len(rows) == len(expected)
    for setting in expected:
        steps = "adaptive" if setting.steps is None else str(setting.steps)
        prefix = f"| {setting.family} | {setting.sampler} | {steps} | "
        matching = [row for row in rows if row.startswith(prefix)]
        assert len(matching) == 1, prefix
        cells = [cell.strip() for cell in matching[0].strip("|").split("|")]
        assert int(cells[3]) >= 1  # NFE
        float(cells[4]), float(cells[5]), float(cells[6])  # W2, sliced W, time parse

    assert section.count("Fewest NFE within 5% of the best W2") == 3  # each family's choice
    plot = tmp_path / "quality_vs_nfe.png"
    assert plot.exists() and plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "](quality_vs_nfe.png)" in section


def test_section_is_created_and_appended(tmp_path: Path):
    new = tmp_path / "sub" / "new.md"
    bench.write_section(new, "first")
    assert new.read_text().startswith("# Benchmarks\n")
    assert f"{bench.START}\nfirst\n{bench.END}" in new.read_text()
    bench.write_section(new, "second")
    assert "first" not in new.read_text() and new.read_text().count(bench.START) == 1

    existing = tmp_path / "existing.md"
    existing.write_text("# Notes\n\nnothing here yet\n")
    bench.write_section(existing, "body")
    text = existing.read_text()
    assert text.startswith("# Notes\n\nnothing here yet\n")
    assert text.rstrip().endswith(bench.END)


def test_overhead_tiny_writes_its_table(tmp_path: Path):
    output = tmp_path / "benchmarks.md"
    run = _run_module("overhead", "--tiny", "--cases", "toy2d_mlp", "--output", str(output))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    text = output.read_text()
    assert "<!-- overhead:start -->" in text and "<!-- overhead:end -->" in text
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
    assert ratio == pytest.approx(flow_rate / hand_rate, abs=0.002)


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
