"""studies/digits_ablation.py without training: variants parse, rows become a table."""

from __future__ import annotations

import json
from pathlib import Path

from studies import digits_ablation as bench


def test_variants_parse_and_rows_make_a_table(tmp_path: Path):
    assert bench.parse_variant("clip=0,method=euler,steps=8") == {
        "clip": 0,
        "method": "euler",
        "steps": 8,
    }
    assert bench.parse_variant("") == {}
    rows = [
        {
            "name": "a",
            "overrides": [],
            "variant": {},
            "nfe": 40,
            "sample_s": 1.0,
            "c2st": 0.8,
            "c2st_cond_mean": 0.7,
            "cond_accuracy": 0.99,
            "floor_c2st": 0.5,
        },
        {
            "name": "b",
            "overrides": ["base_lr=1e-3"],
            "variant": {"levels": 17},
            "nfe": 8,
            "sample_s": 0.5,
            "c2st": 0.6,
            "sweep": True,
        },
        {"name": "t", "overrides": [], "ms_per_step": 80.0},
    ]
    output = tmp_path / "rows.jsonl"
    output.write_text("".join(json.dumps(r) + "\n" for r in rows))
    results = tmp_path / "results.md"
    assert len(bench.main(["--table", "--output", str(output), "--results", str(results)])) == 3
    assert bench.markdown(rows) in results.read_text()  # the dated result file holds the table
    table = bench.markdown(rows).splitlines()
    assert len(table) == 4  # header, rule, the two scored rows (not the timing row)
    assert (
        "| a | (defaults) | (as configured) | 40 | 1.0 | 0.800 | 0.700 | 0.990 | 0.500 |" in table
    )
    assert "| b | `base_lr=1e-3` | levels=17 | 8 | 0.5 | 0.600 |  |  |  |" in table
