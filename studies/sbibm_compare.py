"""flowdiff's PosteriorEstimator against sbi's NPE and FMPE on sbibm tasks, judged as sbibm judges.

Four sbibm tasks (``studies/sbibm_tasks.py``: gaussian_linear, gaussian_linear_uniform, slcp,
sir; our own torch simulators of sbibm's definitions) at 1k, 10k and 100k simulations. For each
task and budget one training set is simulated (seed 0) and every method trains on it in this one
process: flowdiff's ``PosteriorEstimator()`` with its defaults, and sbi's ``NPE`` (MAF) and
``FMPE`` with theirs. Each method draws 10,000 posterior samples for each of sbibm's 10
observations, scored with sbibm's C2ST (:func:`flowdiff.metrics.c2st_sbibm`) against sbibm's
10,000 reference posterior samples. Fit and sampling wall times are measured separately.

sbibm's files are read from its wheel, never downloaded at run time (``--sbibm`` or
``$SBIBM_DIR``; see ``studies/sbibm_tasks.py``). sbibm's C2ST is the expensive part: its
classifier trains on 16,000 points without early stopping, several minutes of CPU for one
observation of a 10-D task. So the study has two steps: ``fit`` (fit and sample every cell, the
draws saved under ``--work``) and ``score`` (C2ST of the saved draws, observation 1 of every cell
first); rows are appended to a JSONL file as each finishes, so interrupted runs and runs on
separate cores (split by ``--tasks``) add up, and ``--step report`` writes the tables:

    taskset -c 1 python -m studies.sbibm_compare --budgets 1000
    taskset -c 0 python -m studies.sbibm_compare --budgets 1000 --tasks sir --step score
    python -m studies.sbibm_compare --budgets 1000 --step report
    python -m studies.sbibm_compare --tiny --output /tmp/bench.md
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from flowdiff.metrics.c2st import c2st_sbibm
from flowdiff.sbi import PosteriorEstimator
from studies.common import arguments, provenance, publish
from studies.sbibm_tasks import NUM_OBSERVATIONS, TASKS, load_reference, make_task, simulate

SECTION = "sbibm_compare"
METHODS = ("flowdiff", "NPE", "FMPE")


def run_flowdiff(task, theta, x, observations, count, tiny):
    """``PosteriorEstimator()`` with its defaults (the prior given, as sbi is given it)."""
    options = {"max_epochs": 2} if tiny else {}
    start = time.perf_counter()
    posterior = PosteriorEstimator(prior=task.prior, progress=False, **options).fit(theta, x)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    drawn = posterior.sample_batched(
        (count,), x=observations, generator=torch.Generator().manual_seed(0)
    )
    return drawn, fit_seconds, time.perf_counter() - start


def run_sbi(method, task, theta, x, observations, count, tiny, work):
    """sbi's NPE or FMPE with its default estimator and training loop (early stopping)."""
    from sbi.inference import FMPE, NPE
    from sbi.utils.tracking import TensorBoardTracker
    from torch.utils.tensorboard import SummaryWriter

    torch.manual_seed(0)
    start = time.perf_counter()
    # sbi logs to ./sbi-logs by default; keep its logs beside the other outputs instead.
    tracker = TensorBoardTracker(SummaryWriter(work / "sbi-logs" / f"{task.name}_{method}"))
    inference = {"NPE": NPE, "FMPE": FMPE}[method](
        prior=task.prior, show_progress_bars=False, tracker=tracker
    )
    inference.append_simulations(theta, x)
    inference.train(**({"max_num_epochs": 2} if tiny else {}))
    posterior = inference.build_posterior()
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    drawn = posterior.sample_batched((count,), x=observations, show_progress_bars=False)
    return drawn, fit_seconds, time.perf_counter() - start


def fit_cell(task, budget, method, reference, args) -> dict:
    """Fit one method on the task's ``budget`` simulations and draw ``args.samples`` for each
    observation; the draws are saved to ``<work>/<task>_<budget>_<method>.npy``
    ``(observations, samples, dim_theta)`` for :func:`score_cell`. Returns the timings row."""
    theta, x = simulate(task, budget, seed=0)
    observations = torch.as_tensor(reference.observations[: args.observations])
    cpu = time.process_time()
    if method == "flowdiff":
        drawn, fit_s, sample_s = run_flowdiff(task, theta, x, observations, args.samples, args.tiny)
    else:
        drawn = run_sbi(method, task, theta, x, observations, args.samples, args.tiny, args.work)
        drawn, fit_s, sample_s = drawn
    cpu = time.process_time() - cpu
    np.save(samples_file(args.work, task.name, budget, method), drawn.numpy().transpose(1, 0, 2))
    return dict(
        kind="fit", task=task.name, budget=budget, method=method,
        fit_s=fit_s, sample_s=sample_s, cpu_s=cpu,
    )  # fmt: skip


def samples_file(work: Path, task: str, budget: int, method: str) -> Path:
    return work / f"{task}_{budget}_{method}.npy"


def score_cell(task, budget, method, reference, k, args) -> dict:
    """sbibm's C2ST of one cell's draws for observation ``k`` (0-based) against the reference."""
    drawn = np.load(samples_file(args.work, task, budget, method))[k]
    start = time.perf_counter()
    # sbibm compares equal numbers of draws (10,000 each); a smaller --samples uses as few
    # reference draws.
    exact = reference.posterior_samples[k][: len(drawn)]
    score = c2st_sbibm(exact, drawn, folds=args.folds)
    return dict(
        kind="c2st", task=task, budget=budget, method=method, observation=k + 1,
        c2st=score, seconds=time.perf_counter() - start,
    )  # fmt: skip


def record(results: Path, row: dict) -> None:
    results.parent.mkdir(parents=True, exist_ok=True)
    with open(results, "a") as file:
        file.write(json.dumps(row) + "\n")


def recorded(results: Path) -> tuple[dict, dict]:
    """The latest fit row per (task, budget, method), and the C2ST per observation of each
    fitted cell: ``{cell: {observation: c2st}}`` (a refit drops the cell's earlier scores)."""
    fits, scores = {}, {}
    if results.is_file():
        for line in results.read_text().splitlines():
            row = json.loads(line)
            cell = (row["task"], row["budget"], row["method"])
            if row["kind"] == "fit":
                fits[cell], scores[cell] = row, {}
            elif cell in scores:
                scores[cell][row["observation"]] = row["c2st"]
    return fits, scores


def budget_table(budget: int, fits: dict, scores: dict, tasks) -> list[str]:
    """One budget's table: task x method, C2ST mean and worst over the observations scored for
    every scored method of the task (how many in brackets when fewer than all, so that the
    methods are compared on the same observations), fit and sampling seconds."""
    lines = [
        f"### {budget:,} simulations",
        "",
        "| task | method | C2ST mean | C2ST worst | fit s | sample s | CPU s |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for task in tasks:
        scored = [scores[c] for m in METHODS if (c := (task, budget, m)) in fits and scores[c]]
        common = set.intersection(*(set(s) for s in scored)) if scored else set()
        for method in METHODS:
            row = fits.get((task, budget, method))
            if row is None:
                lines.append(f"| {task} | {method} | not run | | | | |")
                continue
            got = [v for k, v in scores[task, budget, method].items() if k in common]
            some = f" ({len(got)} obs.)" if len(got) < NUM_OBSERVATIONS else ""
            mean, worst = (f"{np.mean(got):.3f}{some}", f"{np.max(got):.3f}") if got else ("-", "-")
            lines.append(
                f"| {task} | {method} | {mean} | {worst} | {row['fit_s']:.1f} | "
                f"{row['sample_s']:.1f} | {row['cpu_s']:.1f} |"
            )
    return [*lines, ""]


def report(args, fits: dict, scores: dict, seconds: float | None = None) -> str:
    tasks = [t for t in TASKS if any(cell[0] == t for cell in fits)] or list(args.tasks)
    budgets = sorted({cell[1] for cell in fits})
    return "\n".join(
        [
            "## sbibm: flowdiff against sbi's NPE and FMPE",
            "",
            *provenance(seconds),
            "- sbibm tasks (our simulators of sbibm's definitions; sbibm 1.1.0's observations and "
            f"reference posteriors); {args.samples:,} draws for each of the 10 observations; C2ST "
            "as sbibm computes it (`flowdiff.metrics.c2st_sbibm`; 0.5 is perfect) against as "
            "many reference draws: mean and worst over the observations scored for all the task's "
            "scored methods (all 10 unless a count is given).",
            "- Same simulations (seed 0) for every method, in one process with one torch/BLAS "
            "thread; fit s includes building the estimator; sample s is all 10 observations' "
            "draws; CPU s is fit + sample process time (less sensitive to other jobs).",
            "- flowdiff: `PosteriorEstimator(prior=prior).fit(theta, x)` with its defaults; sbi: "
            f"`NPE(prior)` / `FMPE(prior)` with theirs (sbi {_sbi_version()}).",
            "",
            *(line for b in budgets for line in budget_table(b, fits, scores, tasks)),
        ]
    )


def fit_all(args, results: Path) -> None:
    """Fit every task x budget x method not yet fitted (budgets outermost: small ones first)."""
    fits, _ = recorded(results)
    for budget in args.budgets:
        for name in args.tasks:
            reference = load_reference(name, args.sbibm, args.observations)
            for method in args.methods:
                if (name, budget, method) in fits and not args.refit:
                    continue
                print(f"fit {name} {budget} {method}", flush=True)
                row = fit_cell(make_task(name), budget, method, reference, args)
                print(json.dumps(row), flush=True)
                record(results, row)


def score_all(args, results: Path) -> None:
    """Score every fitted cell's observations not yet scored: observations outermost, so an
    interrupted run has scored every cell on its first observations."""
    fits, scores = recorded(results)
    cells = [
        c for c in fits if c[0] in args.tasks and c[1] in args.budgets and c[2] in args.methods
    ]
    references = {}
    for k in range(args.observations):
        for task, budget, method in cells:
            if k + 1 in scores[task, budget, method]:
                continue
            if task not in references:
                references[task] = load_reference(task, args.sbibm, args.observations)
            row = score_cell(task, budget, method, references[task], k, args)
            print(json.dumps(row), flush=True)
            record(results, row)


def main() -> None:
    parser = arguments(__doc__, work="bench_sbibm_compare", tiny="one small budget, 2 epochs")
    parser.add_argument("--sbibm", default=None, help="sbibm wheel or folder ($SBIBM_DIR)")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    parser.add_argument("--budgets", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--observations", type=int, default=NUM_OBSERVATIONS)
    parser.add_argument("--samples", type=int, default=10_000, help="draws per observation")
    parser.add_argument("--folds", type=int, default=5, help="C2ST folds (sbibm: 5)")
    parser.add_argument("--results", type=Path, default=None, help="JSONL, appended to")
    parser.add_argument("--refit", action="store_true", help="refit cells already fitted")
    parser.add_argument(
        "--step", choices=("all", "fit", "score", "report"), default="all",
        help="fit (and sample), score (C2ST of the saved draws), or only rewrite the report",
    )  # fmt: skip
    args = parser.parse_args()
    torch.set_num_threads(1)
    threadpool_limits(1)
    if args.tiny:
        args.budgets, args.observations, args.samples, args.folds = [200], 2, 300, 2
    args.work.mkdir(parents=True, exist_ok=True)
    results = args.results or args.work / "results.jsonl"
    start = time.perf_counter()
    if args.step in ("all", "fit"):
        fit_all(args, results)
    if args.step in ("all", "score"):
        score_all(args, results)
    seconds = time.perf_counter() - start
    publish(args.output, SECTION, report(args, *recorded(results), seconds))


def _sbi_version() -> str:
    import sbi

    return sbi.__version__


if __name__ == "__main__":
    main()
