"""Fit + 10 x 10,000 posterior draws at 1,000 simulations: flowdiff (this checkout and an older
revision) against sbi's NPE, on sbibm tasks, timed in one run.

For each task one training set (1,000 simulations, seed 0) and 10 observations (seed 1, drawn
from the task's prior and simulator: the cost does not depend on which observations) are
simulated; every method fits on them with its defaults (``PosteriorEstimator(prior=prior)``,
``NPE(prior)``) and draws 10,000 samples for each observation (``sample_batched``). Each fit runs
in its own process (``--worker``), one torch thread, and reports wall and CPU seconds (the
process's own: on a shared machine CPU seconds are the figure to compare). The methods alternate
within each repeat, so load changes touch them alike; the table gives medians over repeats.
``--baseline REV`` adds flowdiff at git revision ``REV`` (its ``src/`` and ``configs/``
exported with ``git archive``) as the "before" column.

    taskset -c 1 python -m studies.small_budget --baseline d363fbd --repeats 3
    python -m studies.small_budget --tiny --output /tmp/bench.md
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

import torch

from studies.common import REPO, arguments, provenance, publish

SECTION = "small_budget"
SIMULATIONS, OBSERVATIONS, DRAWS = 1000, 10, 10_000
MARK = "small_budget result: "  # the worker's result (sbi prints to stdout, without newlines)


def fit_and_draw(method: str, task_name: str, draws: int, tiny: bool) -> dict:
    """One method's fit and draws on one task, timed (wall and this process's CPU seconds)."""
    from studies.sbibm_tasks import make_task, simulate

    torch.set_num_threads(1)
    task = make_task(task_name)
    theta, x = simulate(task, SIMULATIONS, seed=0)
    _, x_o = simulate(task, OBSERVATIONS, seed=1)
    from sbi.inference import NPE  # imported before the clock starts, as flowdiff's estimator

    from flowdiff.sbi import PosteriorEstimator

    wall, cpu = time.perf_counter(), time.process_time()
    if method == "NPE":
        torch.manual_seed(0)
        inference = NPE(prior=task.prior, show_progress_bars=False, logging_level="ERROR")
        inference.append_simulations(theta, x).train(**({"max_num_epochs": 2} if tiny else {}))
        posterior = inference.build_posterior()
    else:
        options = {"max_epochs": 2} if tiny else {}
        posterior = PosteriorEstimator(prior=task.prior, progress=False, **options).fit(theta, x)
    fit_wall, fit_cpu = time.perf_counter() - wall, time.process_time() - cpu
    wall, cpu = time.perf_counter(), time.process_time()
    drawn = posterior.sample_batched((draws,), x=x_o, show_progress_bars=False)
    assert drawn.shape == (draws, OBSERVATIONS, theta.shape[1]), drawn.shape
    return {
        "fit_wall": fit_wall,
        "fit_cpu": fit_cpu,
        "sample_wall": time.perf_counter() - wall,
        "sample_cpu": time.process_time() - cpu,
    }


def export_revision(revision: str, folder: Path) -> Path:
    """``src/`` and ``configs/`` of git ``revision`` under ``folder``; returns its ``src``."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", revision, "src", "configs"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder / "src"


def run_worker(method: str, task: str, args, source: Path | None) -> dict:
    """``fit_and_draw`` in a fresh process; ``source``: the flowdiff sources it imports."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (source or REPO / "src", REPO))
    command = [sys.executable, "-m", "studies.small_budget", "--worker", method, task]
    command += ["--draws", str(args.draws)] + (["--tiny"] if args.tiny else [])
    with tempfile.TemporaryDirectory() as cwd:  # sbi writes its logs into the working folder
        run = subprocess.run(command, env=env, capture_output=True, text=True, cwd=cwd)
        if run.returncode != 0:
            raise RuntimeError(f"{method} on {task} failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.rsplit(MARK, 1)[1].splitlines()[0])


def section(rows: dict, args, seconds: float) -> str:
    lines = [
        f"## Fit + {OBSERVATIONS} x {args.draws:,} draws at {SIMULATIONS:,} simulations",
        "",
        *provenance(seconds),
        f"- Medians over {args.repeats} repeat(s), methods alternating; one torch thread; "
        "CPU s = the process's own CPU time (compare these on a shared machine).",
        "",
        "| task | method | fit s | fit CPU s | sample s | sample CPU s | total s | total CPU s |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for (task, method), runs in rows.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        total, total_cpu = med["fit_wall"] + med["sample_wall"], med["fit_cpu"] + med["sample_cpu"]
        lines.append(
            f"| {task} | {method} | {med['fit_wall']:.1f} | {med['fit_cpu']:.1f} "
            f"| {med['sample_wall']:.1f} | {med['sample_cpu']:.1f} | {total:.1f} "
            f"| **{total_cpu:.1f}** |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = arguments(__doc__, tiny="2 epochs, 100 draws, one task, one repeat")
    parser.add_argument("--worker", nargs=2, metavar=("METHOD", "TASK"), help=argparse_hidden())
    parser.add_argument("--tasks", nargs="+", default=["gaussian_linear", "sir"])
    parser.add_argument(
        "--baseline", help="git revision (or folder with src/, configs/) of flowdiff to time too"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--draws", type=int, default=DRAWS)
    args = parser.parse_args()
    if args.worker:
        print("\n" + MARK + json.dumps(fit_and_draw(*args.worker, args.draws, args.tiny)))
        return
    if args.tiny:
        args.tasks, args.repeats, args.draws = args.tasks[:1], 1, 100
    start = time.perf_counter()
    rows: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        sources = {"flowdiff": None, "NPE": None}
        if args.baseline and (Path(args.baseline) / "src").is_dir():  # a folder: src/, configs/
            sources[f"flowdiff {Path(args.baseline).name}"] = Path(args.baseline) / "src"
        elif args.baseline:
            sources[f"flowdiff {args.baseline}"] = export_revision(args.baseline, Path(tmp))
        for _ in range(args.repeats):
            for task in args.tasks:
                for name, source in sources.items():
                    method = "NPE" if name == "NPE" else "flowdiff"
                    result = run_worker(method, task, args, source)
                    rows.setdefault((task, name), []).append(result)
                    print(task, name, json.dumps(result), flush=True)
    publish(args.output, SECTION, section(rows, args, time.perf_counter() - start))


def argparse_hidden() -> str:
    """Help text of ``--worker`` (run by the study itself in a fresh process)."""
    return "internal: time one method on one task in this process and print JSON"


if __name__ == "__main__":
    main()
