"""What the studies share: where the repository is, running flowdiff's console scripts (as
subprocesses), timing, the machine description, and writing a study's own
dated result file in ``studies/results/`` (:func:`result_file`); docs/benchmarks.md summarises
them by hand.

Every script is a module of the ``studies`` package, run from the repository root as
``python -m studies.NAME``; flowdiff itself is imported as installed (or from ``PYTHONPATH``).
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
#: the folder of dated result files, one per study and day (``--output`` writes elsewhere)
RESULTS = REPO / "studies" / "results"
#: CPU, no progress bar, one final figure: what a ``flowdiff-train`` subprocess run adds.
QUIET_CLI = [
    "trainer=cpu",
    "callbacks.progress_bar=null",
    "callbacks.sample_figures.every_n_epochs=0",
]


# --------------------------------------------------------------------------- report
def arguments(
    doc: str, work: str | None = None, tiny: str | None = None
) -> argparse.ArgumentParser:
    """A script's argument parser: described by its docstring's first line, with ``--output``
    (the markdown file, :func:`result_file`), ``--work`` (``outputs/<work>``, when given)
    and ``--tiny`` (a smoke run, when ``tiny`` says what it shrinks)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--output", type=Path, default=result_file(), help="markdown file")
    if work is not None:
        parser.add_argument("--work", type=Path, default=REPO / "outputs" / work)
    if tiny is not None:
        parser.add_argument("--tiny", action="store_true", help=f"smoke run: {tiny}")
    return parser


def result_file(name: str | None = None, day: datetime.date | None = None) -> Path:
    """Where a study writes: ``studies/results/<name>-<YYYY-MM-DD>.md``, ``name`` defaulting to
    the running module's (``python -m studies.NAME``) and ``day`` to today."""
    name = name or Path(sys.argv[0]).stem
    return RESULTS / f"{name}-{(day or datetime.date.today()).isoformat()}.md"


def write_section(path: Path, name: str, body: str) -> None:
    """Replace the text between ``<!-- name:start -->`` and ``<!-- name:end -->`` in ``path``
    (appending the section if absent, creating the file if missing)."""
    path = Path(path)
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.strip()}\n{end}"
    text = path.read_text() if path.is_file() else f"# {name}\n"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def publish(path: Path, name: str, body: str) -> None:
    """Write ``body`` as section ``name`` of ``path`` (:func:`write_section`) and print it."""
    write_section(path, name, body)
    print(body, flush=True)


def machine() -> str:
    """CPU model, cores, torch threads, GPU (if any), OS, Python and torch versions."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    threads = torch.get_num_threads()
    gpu = f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return (
        f"{cpu}, {os.cpu_count()} cores ({threads} torch thread{'s' * (threads != 1)}){gpu}, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"torch {torch.__version__}"
    )


def now() -> str:
    return datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")


def command_line() -> str:
    """The command that is running, as typed from the repository root:
    ``python -m studies.NAME ARGS`` for a benchmark module."""
    script = Path(sys.argv[0]).resolve()
    if script.is_relative_to(REPO / "studies"):
        program = ["-m", ".".join(script.relative_to(REPO).with_suffix("").parts)]
    else:
        program = [str(script)]
    return shlex.join(["python", *program, *sys.argv[1:]])


def provenance(seconds: float | None = None, shared: bool = True) -> list[str]:
    """The lines that open every section: date (and wall time), machine and command. ``shared``:
    the machine ran other jobs meanwhile (the 2-core development machine), so timings vary."""
    took = "" if seconds is None else f"; {seconds:.0f} s wall"
    note = " (shared with other jobs while it ran: timings vary)" if shared else ""
    return [
        f"- Date: {now()}{took}",
        f"- Machine: {machine()}{note}",
        f"- Command: `{command_line()}`",
    ]


class Stopwatch:
    """``with Stopwatch() as watch: ...`` then ``watch.seconds`` (wall time, ``perf_counter``)."""

    def __enter__(self) -> Stopwatch:
        self.start, self.seconds = time.perf_counter(), 0.0
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.start


# --------------------------------------------------------------------------- the CLI
def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a flowdiff subprocess: this checkout's ``src`` (and the repository,
    for ``tests`` and ``studies``) first on ``PYTHONPATH``, plus ``extra`` variables."""
    path = [str(REPO / "src"), str(REPO), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, path)), **extra}


def run_cli(command: Sequence[str], cwd: Path = REPO) -> float:
    """Run a flowdiff command line (see :func:`cli_env`); returns its wall time in seconds, or
    raises with the end of its output if it failed."""
    with Stopwatch() as watch:
        done = subprocess.run(list(command), cwd=cwd, env=cli_env(), capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(
            f"{shlex.join(command)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        )
    return watch.seconds


def console_command(script: str, arguments: Sequence[str]) -> list[str]:
    """A flowdiff console script's command line (``flowdiff-train``, ``flowdiff-eval``...): the
    entry point beside this Python if installed, else ``python -m flowdiff.cli.<name>``."""
    entry = Path(sys.executable).with_name(script)
    module = f"flowdiff.cli.{script.removeprefix('flowdiff-')}"
    program = [str(entry)] if entry.exists() else [sys.executable, "-m", module]
    return [*program, *arguments]


def train_command(config_name: str, overrides: Sequence[str]) -> list[str]:
    """The ``flowdiff-train`` command line with ``--config-name`` and ``overrides``."""
    return console_command("flowdiff-train", [f"--config-name={config_name}", *overrides])


def run_training(
    config_name: str, overrides: Sequence[str], run_dir: Path, reuse: bool = False
) -> tuple[Path, float]:
    """Run ``flowdiff-train`` into a fresh ``run_dir``; returns its ``last.ckpt`` and the wall
    time. With ``reuse``, a finished run of the same command in ``run_dir`` is taken as is."""
    command = train_command(config_name, [*overrides, *QUIET_CLI, f"hydra.run.dir={run_dir}"])
    record = run_dir / "benchmark_run.txt"
    if reuse and record.is_file():
        seconds, recorded = record.read_text().split("\n", 1)
        if recorded == shlex.join(command[1:]):
            print("reusing", run_dir, flush=True)
            return run_dir / "checkpoints" / "last.ckpt", float(seconds)
    shutil.rmtree(run_dir, ignore_errors=True)
    print("$", shlex.join(command), flush=True)
    seconds = run_cli(command)
    record.write_text(f"{seconds}\n{shlex.join(command[1:])}")
    return run_dir / "checkpoints" / "last.ckpt", seconds


def quiet() -> None:
    """Keep Lightning's per-run chatter out of the benchmark's output."""
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
