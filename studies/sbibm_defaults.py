"""Which posterior defaults generalise: candidate settings of ``PosteriorEstimator`` over sbibm's
four benchmark tasks and our own four, at 1k and 10k simulations, beside sbi's NPE and FMPE.

Tasks: ``studies/sbibm_tasks.py`` (gaussian_linear, gaussian_linear_uniform, slcp, sir; sbibm's
observations and reference posteriors) and ``studies/sbi_tasks.py`` (linear_gaussian, squares,
ring, growth; exact posteriors). Other sbibm tasks are kept aside for judging, never run here.
For each task and budget one training set is simulated (seed 0) and every candidate (and sbi's
NPE and FMPE with their defaults) trains on it in this process; each draws ``--samples`` for the
first ``--observations`` observations, scored with sbibm's C2ST (:func:`c2st_sbibm`) against as
many reference draws. Rows go to a JSONL file as each cell finishes (runs add up); ``--step
report`` writes the table: C2ST per cell, rank per task x budget, mean rank and worst C2ST per
candidate.

    taskset -c 0 python -m studies.sbibm_defaults --budgets 1000 10000
    python -m studies.sbibm_defaults --step report
    python -m studies.sbibm_defaults --tiny --output /tmp/defaults.md
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
from flowdiff.sbi.settings import budget_settings
from studies import sbi_tasks, sbibm_tasks
from studies.common import arguments, provenance, publish
from studies.sbibm_compare import record, run_sbi

SECTION = "sbibm_defaults"
TASKS = (*sbibm_tasks.TASKS, *sbi_tasks.TASKS)
#: Candidate defaults: named settings of PosteriorEstimator, or a function of the number of
#: simulations giving them. "previous" is data=arrays before 2026-12-02 (the 512 x 4 MLP of
#: images, batch 128, lr 2e-3, patience 20, 20 midpoint steps); "current" the 2026-12-02 one.
CANDIDATES = {
    "current": lambda n: dict(hidden=128, depth=3, batch_size=256, base_lr=1e-3, patience=10),
    "previous": lambda n: dict(
        hidden=512, depth=4, batch_size=128, base_lr=2e-3, patience=20, steps=20
    ),
    "small_scaled": lambda n: {**budget_settings(n), "hidden": 128, "depth": 3},
    "wide_scaled": lambda n: {**budget_settings(n), "hidden": 256, "depth": 4},
}
PEERS = ("NPE", "FMPE")


def load(name: str, budget: int, observations: int, samples: int, sbibm: str | None):
    """A task's prior, training pairs ``(budget, dim)``, observations ``(k, dim_x)`` and
    ``k`` reference posterior samples ``(samples, dim_theta)``."""
    if name in sbibm_tasks.TASKS:
        task = sbibm_tasks.make_task(name)
        theta, x = sbibm_tasks.simulate(task, budget, seed=0)
        reference = sbibm_tasks.load_reference(name, sbibm, observations)
        exact = [s[:samples] for s in reference.posterior_samples]
        return task.prior, theta, x, torch.as_tensor(reference.observations), exact
    task = sbi_tasks.make_task(name)
    theta, x = task.simulator.simulate(budget, np.random.default_rng(0))
    rng = np.random.default_rng(1)  # the observations and exact draws of studies/sbi_compare
    _, x_o = task.simulator.simulate(observations, rng)
    exact = [task.exact(o, samples, rng) for o in x_o]
    as_float = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32)  # noqa: E731
    return task.prior, as_float(theta), as_float(x), as_float(x_o), exact


def run_candidate(settings: dict, prior, theta, x, x_o, count: int, tiny: bool):
    """Draws ``(k, count, dim_theta)``, fit and sampling seconds, epochs trained."""
    options = {**settings, **({"max_epochs": 2} if tiny else {})}
    start = time.perf_counter()
    posterior = PosteriorEstimator(prior=prior, progress=False, **options).fit(theta, x)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    drawn = posterior.sample_batched((count,), x=x_o, generator=torch.Generator().manual_seed(0))
    return drawn.transpose(0, 1), fit_s, time.perf_counter() - start, posterior.epoch


def run_cell(name: str, budget: int, method: str, args) -> dict:
    prior, theta, x, x_o, exact = load(name, budget, args.observations, args.samples, args.sbibm)
    cpu = time.process_time()
    if method in PEERS:
        drawn, fit_s, sample_s = run_sbi(
            method, type("T", (), {"name": name, "prior": prior}), theta, x, x_o,
            args.samples, args.tiny, args.work,
        )  # fmt: skip
        drawn, epochs = drawn.transpose(0, 1), None
    else:
        settings = CANDIDATES[method](budget)
        drawn, fit_s, sample_s, epochs = run_candidate(
            settings, prior, theta, x, x_o, args.samples, args.tiny
        )
    cpu = time.process_time() - cpu
    scores = [c2st_sbibm(e, d.numpy(), folds=args.folds) for e, d in zip(exact, drawn, strict=True)]
    return dict(
        task=name, budget=budget, method=method, c2st=scores, fit_s=fit_s,
        sample_s=sample_s, cpu_s=cpu, epochs=epochs,
    )  # fmt: skip


def recorded(results: Path) -> dict:
    """The latest row per (task, budget, method)."""
    rows = {}
    if results.is_file():
        for line in results.read_text().splitlines():
            row = json.loads(line)
            rows[row["task"], row["budget"], row["method"]] = row
    return rows


def ranks(rows: dict, methods) -> dict:
    """Rank (1 = best mean C2ST) of each method within each task x budget where all ran."""
    out = {}
    for task, budget in {(t, b) for t, b, _ in rows}:
        cells = [(task, budget, m) for m in methods]
        if all(c in rows for c in cells):
            means = [np.mean(rows[c]["c2st"]) for c in cells]
            for c, r in zip(cells, np.argsort(np.argsort(means)) + 1, strict=True):
                out[c] = int(r)
    return out


def _mean(rows: dict, cell) -> float:
    return float(np.mean(rows[cell]["c2st"]))


def gaps(rows: dict, cell, methods) -> float:
    """How far ``cell``'s mean C2ST is above the best of ``methods`` on its task x budget."""
    task, budget, _ = cell
    return _mean(rows, cell) - min(_mean(rows, (task, budget, m)) for m in methods)


def report(args, rows: dict, seconds: float | None = None) -> str:
    methods = [m for m in (*CANDIDATES, *PEERS) if any(c[2] == m for c in rows)]
    budgets = sorted({c[1] for c in rows})
    tasks = [t for t in TASKS if any(c[0] == t for c in rows)]
    rank = ranks(rows, methods)
    head = "| task | budget | " + " | ".join(methods) + " |"
    lines = [head, "|---|---:|" + "---:|" * len(methods)]
    for budget in budgets:
        for task in tasks:
            cells = [rows.get((task, budget, m)) for m in methods]
            text = [
                f"{np.mean(r['c2st']):.3f} ({rank.get((task, budget, m), '-')})" if r else "-"
                for r, m in zip(cells, methods, strict=True)
            ]
            lines.append(f"| {task} | {budget:,} | " + " | ".join(text) + " |")
    summary = ["| | " + " | ".join(methods) + " |", "|---|" + "---:|" * len(methods)]
    got = {m: [(c, v) for c, v in rank.items() if c[2] == m] for m in methods}
    mean_rank = [f"{np.mean([v for _, v in got[m]]):.2f}" if got[m] else "-" for m in methods]
    worst = [max(((_mean(rows, c), c) for c, _ in got[m]), default=None) for m in methods]
    worst_text = [f"{w[0]:.3f} ({w[1][0]}, {w[1][1]:,})" if w else "-" for w in worst]
    gap = [max(((gaps(rows, c, methods), c) for c, _ in got[m]), default=None) for m in methods]
    gap_text = [f"+{g[0]:.3f} ({g[1][0]}, {g[1][1]:,})" if g else "-" for g in gap]
    cpu = [f"{sum(rows[c]['cpu_s'] for c, _ in got[m]):.0f}" if got[m] else "-" for m in methods]
    summary += [
        "| mean rank | " + " | ".join(mean_rank) + " |",
        "| worst gap to the cell's best | " + " | ".join(gap_text) + " |",
        "| worst mean C2ST | " + " | ".join(worst_text) + " |",
        "| CPU s, all cells | " + " | ".join(cpu) + " |",
    ]
    settings = [f"- `{m}`: {describe(m)}" for m in methods]
    return "\n".join(
        [
            "## Posterior defaults: candidates over sbibm's tasks and ours",
            "",
            *provenance(seconds),
            f"- C2ST as sbibm computes it on {args.samples:,} draws against as many reference "
            f"draws, mean over the first {args.observations} observations (reduced from sbibm's "
            "10 x 10,000 for time); rank within each task x budget in brackets (1 = best) over "
            "the cells where every method ran; the gap is the C2ST above the best method of the "
            "cell, the worst case that does not just name the hardest task.",
            *settings,
            "",
            *summary,
            "",
            *lines,
            "",
            f"flowdiff is `{args.chosen}` in the tables below (sample s: {args.observations} x "
            f"{args.samples:,} draws).",
            "",
            *budget_tables(rows, args.chosen),
        ]
    )


def budget_tables(rows: dict, chosen: str) -> list[str]:
    """One table per budget: task x method (the chosen candidate as ``flowdiff``, NPE, FMPE),
    C2ST mean and worst observation, fit and sampling seconds, CPU seconds."""
    lines = []
    for budget in sorted({c[1] for c in rows}):
        lines += [
            f"### {budget:,} simulations",
            "",
            "| task | method | C2ST mean | C2ST worst | fit s | sample s | CPU s |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for task in TASKS:
            for method in (chosen, *PEERS):
                row = rows.get((task, budget, method))
                if row is None:
                    continue
                name = "flowdiff" if method == chosen else method
                lines.append(
                    f"| {task} | {name} | {np.mean(row['c2st']):.3f} | {np.max(row['c2st']):.3f} "
                    f"| {row['fit_s']:.1f} | {row['sample_s']:.1f} | {row['cpu_s']:.1f} |"
                )
        lines.append("")
    return lines


def describe(method: str) -> str:
    if method in PEERS:
        return f"sbi's `{method}(prior)` with its defaults"
    return ", ".join(
        f"{b:,}: " + " ".join(f"{k}={v}" for k, v in CANDIDATES[method](b).items())
        for b in (1_000, 10_000)
    )


def main() -> None:
    parser = arguments(__doc__, work="bench_sbibm_defaults", tiny="one budget of 300, 2 epochs")
    parser.add_argument("--sbibm", default=None, help="sbibm wheel or folder ($SBIBM_DIR)")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    parser.add_argument("--budgets", type=int, nargs="+", default=[1_000, 10_000])
    choices = (*CANDIDATES, *PEERS)
    parser.add_argument("--methods", nargs="+", default=list(choices), choices=choices)
    parser.add_argument("--observations", type=int, default=3)
    parser.add_argument("--samples", type=int, default=1000, help="draws per observation")
    parser.add_argument("--folds", type=int, default=5, help="C2ST folds (sbibm: 5)")
    parser.add_argument("--results", type=Path, default=None, help="JSONL, appended to")
    parser.add_argument("--step", choices=("all", "report"), default="all")
    parser.add_argument("--chosen", default="wide_scaled", choices=CANDIDATES, help="the default")
    args = parser.parse_args()
    torch.set_num_threads(1)
    threadpool_limits(1)
    if args.tiny:
        args.budgets, args.observations, args.samples, args.folds = [300], 1, 200, 2
    args.work.mkdir(parents=True, exist_ok=True)
    results = args.results or args.work / "results.jsonl"
    start = time.perf_counter()
    if args.step == "all":
        done = recorded(results)
        for budget in args.budgets:
            for name in args.tasks:
                for method in args.methods:
                    if (name, budget, method) in done:
                        continue
                    row = run_cell(name, budget, method, args)
                    print(json.dumps(row), flush=True)
                    record(results, row)
    publish(args.output, SECTION, report(args, recorded(results), time.perf_counter() - start))


if __name__ == "__main__":
    main()
