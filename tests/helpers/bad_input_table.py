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
#: the Python API's table: errors raised by calls, recorded by ``record_python_error``
PY_START, PY_END = "<!-- python_api:start -->", "<!-- python_api:end -->"
TESTS = [
    "tests/integration/test_bad_files.py",
    "tests/integration/test_resume_changes.py",
    "tests/unit/test_public_api_fuzz.py",
    "tests/unit/checkpoints/test_integrity.py",
    "tests/unit/model/test_pretrained_files.py",
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
    from tests.integration import test_bad_files as files
    from tests.integration import test_bad_input as cases
    from tests.integration import test_missing_extras as extras
    from tests.unit import test_public_api_fuzz as fuzz

    given = {name: " ".join(args) for name, (args, _) in cases.CONFIG_CASES.items()}
    given |= {name: "data.data_dir=<folder>" for name in cases.DATA_CASES}
    given |= {
        name: f"data=arrays data.file=<x in [0, 1]> data.bounds={bounds}"
        for name, (bounds, _) in cases.BOUNDS_CASES.items()
    }
    for name, (main, args, _) in cases.JOB_CASES.items():
        program = "flowdiff-" + main.__name__.rsplit(".", 1)[-1]
        given[name] = " ".join([program, "ckpt_path=<file>", *args])
    for name, (_, extra, _) in cases.CKPT_CASES.items():
        given[name] = " ".join([*extra, "ckpt_path=<file>"])
    given |= extras.GIVEN | files.GIVEN
    given |= {name: what for name, (what, *_) in fuzz.CASES.items()}
    given |= PYTHON_GIVEN
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


#: what the Python API tests outside the fuzz table give
PYTHON_GIVEN = {
    "test_flipped_bytes_inside_a_weight_tensor_are_refused_naming_the_file": (
        "read_checkpoint(<last.ckpt with 64 bytes flipped inside a tensor>)"
    ),
    "test_disk_full_while_saving_keeps_the_previous_checkpoint": (
        "atomic_torch_save(...) on a full disk (ENOSPC)"
    ),
    "truncated weights": "GenerativeModule.from_pretrained(<folder, model.safetensors cut>)",
    "altered weights": "GenerativeModule.from_pretrained(<folder, 64 weight bytes flipped>)",
    "broken config.json": "GenerativeModule.from_pretrained(<folder, config.json cut>)",
    "config.json of another width": (
        "GenerativeModule.from_pretrained(<folder, config.json hidden 16 -> 32>)"
    ),
    "config.json naming no class": (
        "GenerativeModule.from_pretrained(<folder, network _target_ misspelt>)"
    ),
    "test_save_pretrained_replaces_a_folder_whole_and_a_full_disk_changes_nothing": (
        "model.save_pretrained(<existing folder>) on a full disk (ENOSPC)"
    ),
    "optimizer changed": "flowdiff-train ckpt_path=<run>/checkpoints/last.ckpt model/optimizer=sgd",
    "schedule changed": "flowdiff-train ckpt_path=<...> model/lr_scheduler=step",
    "test_older_checkpoint_without_the_record_is_compared_by_its_state": (
        "flowdiff-train ckpt_path=<older last.ckpt> model/optimizer=sgd"
    ),
    "test_resume_weights_only_needs_a_file_and_gets_its_own_folder": (
        "flowdiff-train resume_weights_only=true (no ckpt_path)"
    ),
}


def table(rows: list[dict[str, str]], heading: str = "stderr; exit code 1") -> str:
    given = inputs()
    out = [f"| Bad input | Given | Test | Exact message ({heading}) |"]
    out.append("|---|---|---|---|")
    for row in rows:
        file, _, name = row["test"].partition("::")
        case = name.partition("[")[2].rstrip("]") or name
        message = TMP.sub("<tmp>", row["message"]).replace("|", "\\|")
        example = given.get(case, "").replace("|", "\\|")
        out.append(f"| {case} | `{example}` | `{Path(file).name}::{name}` | `{message}` |")
    return "\n".join(out)


def main() -> None:
    rows = record()
    cli_rows = [row for row in rows if row.get("table") != "python"]
    python_rows = [row for row in rows if row.get("table") == "python"]
    text = _replace(DOC.read_text(), START, END, table(cli_rows))
    text = _replace(text, PY_START, PY_END, table(python_rows, "the exception raised"))
    DOC.write_text(text)
    print(f"wrote the tables to {DOC}")


def _replace(text: str, start: str, end: str, content: str) -> str:
    head, rest = text.split(start, 1)
    return f"{head}{start}\n{content}\n{end}{rest.split(end, 1)[1]}"


if __name__ == "__main__":
    main()
