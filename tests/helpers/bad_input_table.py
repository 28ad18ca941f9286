"""Build docs/reliability.md's table of bad inputs from the messages the tests actually see.

Runs the bad-input tests (and the CLI tests of the NaN guard and SIGTERM) with
``FLOWDIFF_RECORD_MESSAGES`` set, so each one records the exact line flowdiff printed, then
writes the table between ``<!-- bad_inputs:start -->`` and ``<!-- bad_inputs:end -->``.

    python -m tests.helpers.bad_input_table            # rewrites the table in docs/reliability.md
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.helpers.config import REPO

DOC = REPO / "docs" / "reliability.md"
START, END = "<!-- bad_inputs:start -->", "<!-- bad_inputs:end -->"
TESTS = [
    "tests/integration/test_bad_input.py",
    "tests/unit/training/test_nan_guard.py",
    "tests/integration/test_crash_safety.py",
    "tests/integration/test_missing_extras.py",
    "tests/integration/test_sweeps.py::test_optuna_storage_on_sqlalchemy_2_names_the_fix",
]
TMP = re.compile(r"/tmp/pytest-of-[^/]+/pytest-\d+/[^/ ']+")


def record() -> list[dict[str, str]]:
    """Run the tests and return their recorded ``{"test", "message"}`` lines."""
    with tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False) as file:
        path = file.name
    env = {**os.environ, "FLOWDIFF_RECORD_MESSAGES": path}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS]
    subprocess.run(command, cwd=REPO, env=env, check=True)
    lines = Path(path).read_text().splitlines()
    os.unlink(path)
    return [json.loads(line) for line in lines]


def inputs() -> dict[str, str]:
    """``case name -> what was given`` from the tests' case tables (run from the repository
    root, as ``python -m tests.helpers.bad_input_table``, so that ``tests`` imports)."""
    from tests.integration import test_bad_input as cases
    from tests.integration import test_missing_extras as extras

    given = {name: " ".join(args) for name, (args, _) in cases.CONFIG_CASES.items()}
    given |= {name: "data.data_dir=<folder>" for name in cases.DATA_CASES}
    for name, (_, extra, _) in cases.CKPT_CASES.items():
        given[name] = " ".join([*extra, "ckpt_path=<file>"])
    given |= extras.GIVEN
    return given | {
        "test_output_folder_not_writable": "hydra.run.dir=<a file>/run",
        "test_sample_without_ckpt_path": "flowdiff-sample num_samples=2",
        "test_sampling_labels_out_of_range": "flowdiff-sample ckpt_path=<file> labels=[12]",
        "test_sample_refuses_untrusted_checkpoint_unless_allowed": "flowdiff-sample ckpt_path=<f>",
        "test_fresh_run_never_overwrites_an_earlier_runs_checkpoints": "hydra.run.dir=<old run>",
        "test_console_script_prints_no_traceback": "batch_size=0 (subprocess)",
        "test_cli_stop_prints_one_line": "callbacks.nan_guard.action=stop, NaN at step 5",
        "test_arrays_pt_file_holding_a_pickled_object": "data=arrays data.file=<pickled>.pt",
        "test_sampling_steps_zero_names_the_key_typed": "flowdiff-sample ... sampling_steps=0",
        "test_optuna_storage_on_sqlalchemy_2_names_the_fix": (
            "-m hparams_search=digits_optuna hydra.sweeper.storage=sqlite:///optuna.db"
            " (SQLAlchemy 2)"
        ),
        "test_failed_start_leaves_no_run_folder": "data.data_dir=nope (run folder removed)",
        "test_sampling_conditions_file_of_the_wrong_shape": (
            "flowdiff-sample ckpt_path=<digits run> conditions=bad.npy (floats of shape (4, 5))"
        ),
    }


def table(rows: list[dict[str, str]]) -> str:
    given = inputs()
    out = ["| Bad input | Given | Test | Exact message (stderr; exit code 1) |"]
    out.append("|---|---|---|---|")
    for row in rows:
        file, _, name = row["test"].partition("::")
        case = name.partition("[")[2].rstrip("]") or name
        message = TMP.sub("<tmp>", row["message"]).replace("|", "\\|")
        example = given.get(case, "").replace("|", "\\|")
        out.append(f"| {case} | `{example}` | `{Path(file).name}::{name}` | `{message}` |")
    return "\n".join(out)


def main() -> None:
    text = DOC.read_text()
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    DOC.write_text(f"{head}{START}\n{table(record())}\n{END}{tail}")
    print(f"wrote the table to {DOC}")


if __name__ == "__main__":
    main()
