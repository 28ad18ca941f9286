"""Every shell command and Python block of README.md and docs/*.md, run as a user types it.

How a page runs: its blocks in order, in one fresh working folder (later commands use what
earlier ones wrote: a train, then a sample of its checkpoint). Shell commands run one at a time
in ``bash``; Python blocks as a file, with this interpreter.

The one shortening: :mod:`tests.acceptance.limits` appends limits to each flowdiff console
command (one epoch of two batches for ``flowdiff-train``, two trials for an Optuna search, four
samples for ``flowdiff-sample``, 200 for ``flowdiff-eval``). Nothing else is added: no
``run_name=``, no ``hydra.run.dir=``. Python blocks run exactly as written.

A block that cannot run here (a GPU, a cluster, the network, a placeholder for the user's own
file) says so in the page, on the line before its fence: ``<!-- acceptance: skip: <reason> -->``.
The run prints how many blocks ran and how many were skipped, with the reasons
(``tests/acceptance/conftest.py``). README.md runs in the default suite; every docs page is
``slow`` (``pytest -m slow tests/acceptance``).
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from tests.acceptance import conftest
from tests.acceptance.blocks import SKIP, all_blocks, blocks, pages
from tests.acceptance.limits import LIMITS, logical_lines, program, split_comment, with_limits
from tests.acceptance.runner import run_block
from tests.helpers.config import REPO

#: Pages run in the default suite; the rest are ``slow``.
FAST_PAGES = {"README.md"}
#: Programs a runnable shell block may call besides flowdiff's console scripts.
TOOLS = {"python", "python3", "bash", "head", "ls", "cat", "tensorboard"}


def _page_params():
    for page in pages():
        name = str(page.relative_to(REPO))
        marks = () if name in FAST_PAGES else (pytest.mark.slow,)
        yield pytest.param(page, id=name, marks=marks)


@pytest.mark.parametrize("page", list(_page_params()))
def test_page_runs_as_written(page: Path, tmp_path: Path):
    for block in blocks(page):
        if block.skip:
            conftest.record(block, None)
            continue
        ran = run_block(block, tmp_path)
        conftest.record(block, ran)


def test_every_skip_marker_sits_on_a_fence():
    """A marker not directly above a fence would silently skip nothing (or the wrong block)."""
    for page in pages():
        lines = page.read_text().splitlines()
        for i, line in enumerate(lines):
            if SKIP.match(line):
                following = lines[i + 1].strip() if i + 1 < len(lines) else ""
                assert following.startswith("```"), f"{page.name}:{i + 1}: {line}"


def test_runnable_shell_commands_call_known_programs():
    """What runs here: flowdiff's console scripts and a few shell tools; anything else (pip,
    srun, torchrun...) must carry a skip marker saying why."""
    for block in all_blocks():
        if block.language != "shell" or block.skip:
            continue
        for line in logical_lines(block.text):
            words = shlex.split(split_comment(line)[0])
            assert program(words) or words[0] in TOOLS, f"{block.where}: {line}"


def test_the_limits_are_only_appended():
    line = "flowdiff-train --multirun base_lr=5e-4,1e-3 max_epochs=50   # a sweep"
    limited = with_limits(line)
    assert limited.startswith("flowdiff-train --multirun base_lr=5e-4,1e-3 max_epochs=50 ")
    assert limited.endswith(" ".join(LIMITS["flowdiff-train"]))
    assert "run_name" not in limited and "hydra.run" not in limited
    assert "hydra.sweeper.n_trials=2" in with_limits("flowdiff-train -m hparams_search=x")
    assert with_limits("python -m flowdiff.cli.sample ckpt_path=a") == (
        "python -m flowdiff.cli.sample ckpt_path=a num_samples=4"
    )
    assert with_limits("ls outputs/  # the runs") == "ls outputs/"
    assert with_limits("echo 'a # b'") == "echo 'a # b'"
