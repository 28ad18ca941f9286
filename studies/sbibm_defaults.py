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
candidate. About 290 lines, over the house's ~250: one study, its runs and its report.

    taskset -c 0 python -m studies.sbibm_defaults --budgets 1000 10000
    python -m studies.sbibm_defaults --step report
    python -m studies.sbibm_defaults --tiny --output /tmp/defaults.md
"""

from __future__ import annotations

import argparse
import json
import time
from functools import partial
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


def scaled(n: int, patience: float = 1500) -> dict:
    """The budget rule as first chosen (2026-12-07): batch the power of two nearest n / 40
    within [32, 512], patience ``patience / sqrt(n)`` within [10, 50]; the default's since the
    third round is ``patience=750`` (:func:`budget_settings`)."""
    return {**budget_settings(n), "patience": min(max(round(patience / n**0.5), 10), 50)}


def _with_steps(n: int, steps: int) -> dict:
    """The default at ``n`` simulations with ``steps`` sampler steps (``2 * steps`` calls)."""
    return {**budget_settings(n), "steps": steps}


#: Candidate defaults: named settings of PosteriorEstimator, or a function of the number of
#: simulations giving them. "previous" is data=arrays before 2026-12-02 (the 512 x 4 MLP of
#: images, batch 128, lr 2e-3, patience 20, 20 midpoint steps); "current" the 2026-12-02 one.
#: The scaled candidates of the first two rounds keep the patience they were measured with.
CANDIDATES = {
    "current": lambda n: dict(hidden=128, depth=3, batch_size=256, base_lr=1e-3, patience=10),
    "previous": lambda n: dict(
        hidden=512, depth=4, batch_size=128, base_lr=2e-3, patience=20, steps=20
    ),
    "default": budget_settings,  # the rule chosen: scaled_half_patience since the third round
    "small_scaled": lambda n: {**scaled(n), "hidden": 128, "depth": 3},
    "wide_scaled": lambda n: {**scaled(n), "hidden": 256, "depth": 4},
    # regularised or skewed variants of the rule (2026-12-07, second round)
    "scaled_t_power": lambda n: {**scaled(n), "overrides": ["model.path.t_power=1.0"]},
    "scaled_weight_decay": lambda n: {
        **scaled(n),
        "overrides": ["model.optimizer.weight_decay=0.05"],
    },
    "scaled_dropout": lambda n: {**scaled(n), "dropout": 0.1},
    # shorter patience (2026-12-07, third round: time at small budgets)
    "scaled_half_patience": lambda n: scaled(n, 750),
    "scaled_quarter_patience": lambda n: scaled(n, 375),
    # box priors learned through a logit (2026-12-07, fourth round)
    "logit": lambda n: {**budget_settings(n), "theta_transform": "logit"},
    # fewer midpoint steps (2 network calls each; the default takes 8): the draws' share of
    # the time at small budgets (2026-12-08, sixth round)
    **{f"steps_{k}": partial(_with_steps, steps=k) for k in (2, 3, 4, 6)},
    # the digits' sampler grid, steps ending at (i / 8) ** 2 (2026-12-08, seventh round)
    "grid_power_2": lambda n: {
        **budget_settings(n),
        "overrides": ["model.sampler.grid_power=2"],
    },
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
    """How far ``cell``'s mean C2ST is above the best of ``methods`` that ran on its task x
    budget."""
    task, budget, _ = cell
    ran = [(task, budget, m) for m in methods if (task, budget, m) in rows]
    return _mean(rows, cell) - min(_mean(rows, c) for c in ran)


def summary(rows: dict, methods: list[str]) -> list[str]:
    """Per method: mean rank among the candidates (cells where all candidates ran), cells run,
    worst gap to the best method of a cell, cells better / worse than ``current``."""
    candidates = [m for m in methods if m in CANDIDATES]
    rank = ranks(rows, candidates)
    ranked = {m: [v for c, v in rank.items() if c[2] == m] for m in methods}
    mine = {m: [c for c in rows if c[2] == m] for m in methods}
    text = {
        "mean rank among candidates": [
            f"{np.mean(ranked[m]):.2f} ({len(ranked[m])} cells)" if ranked[m] else "-"
            for m in methods
        ],
        "cells run": [str(len(mine[m])) for m in methods],
        "worst gap to the cell's best": [
            "+{:.3f} ({}, {:,})".format(*max((gaps(rows, c, methods), c[0], c[1]) for c in mine[m]))
            for m in methods
        ],
        "better / worse than current": [compare(rows, mine[m]) for m in methods],
    }
    lines = ["| | " + " | ".join(methods) + " |", "|---|" + "---:|" * len(methods)]
    return lines + [f"| {k} | " + " | ".join(v) + " |" for k, v in text.items()]


def compare(rows: dict, cells: list) -> str:
    """``better / worse`` counts of ``cells`` against ``current`` on the same task x budget."""
    pairs = [(c, (c[0], c[1], "current")) for c in cells if (c[0], c[1], "current") in rows]
    diffs = [_mean(rows, c) - _mean(rows, base) for c, base in pairs]
    return f"{sum(d < 0 for d in diffs)} / {sum(d > 0 for d in diffs)}"


def report(args, rows: dict, seconds: float | None = None) -> str:
    methods = [m for m in (*CANDIDATES, *PEERS) if any(c[2] == m for c in rows)]
    budgets = sorted({c[1] for c in rows})
    tasks = [t for t in TASKS if any(c[0] == t for c in rows)]
    rank = ranks(rows, [m for m in methods if m in CANDIDATES])
    head = "| task | budget | " + " | ".join(methods) + " |"
    lines = [head, "|---|---:|" + "---:|" * len(methods)]
    for budget in budgets:
        for task in tasks:
            cells = [rows.get((task, budget, m)) for m in methods]
            if not any(cells):
                continue
            text = [
                f"{np.mean(r['c2st']):.3f}"
                + (f" ({rank[task, budget, m]})" if (task, budget, m) in rank else "")
                if r
                else "-"
                for r, m in zip(cells, methods, strict=True)
            ]
            lines.append(f"| {task} | {budget:,} | " + " | ".join(text) + " |")
    settings = [f"- `{m}`: {describe(m)}" for m in methods]
    return "\n".join(
        [
            "## Posterior defaults: candidates over sbibm's tasks and ours",
            "",
            *provenance(seconds),
            f"- C2ST as sbibm computes it on {args.samples:,} draws against as many reference "
            f"draws, mean over the first {args.observations} observations (reduced from sbibm's "
            "10 x 10,000 for time); rank among the candidates in brackets (1 = best) where all "
            "of them ran; the gap is a method's C2ST above the best method (peers included) of "
            "the cell, the worst case that does not just name the hardest task.",
            *settings,
            "",
            *summary(rows, methods),
            "",
            *lines,
            "",
            f"flowdiff is {chosen_text(args.chosen)} in the tables below (sample s: "
            f"{args.observations} x "
            f"{args.samples:,} draws).",
            "",
            *budget_tables(rows, dict(args.chosen)),
        ]
    )


def chosen_text(chosen: list[tuple[int, str]]) -> str:
    return ", ".join(f"`{name}` at {budget:,}" for budget, name in chosen)


def chosen_at(text: str) -> tuple[int, str]:
    """``BUDGET=CANDIDATE`` (``--chosen``) as ``(budget, candidate)``."""
    budget, _, name = text.partition("=")
    if name not in CANDIDATES:
        raise argparse.ArgumentTypeError(f"{text!r}: give BUDGET=CANDIDATE, one of {CANDIDATES}")
    return int(budget), name


def budget_tables(rows: dict, chosen_by_budget: dict) -> list[str]:
    """One table per budget: task x method (the chosen candidate as ``flowdiff``, NPE, FMPE),
    C2ST mean and worst observation, fit and sampling seconds, CPU seconds."""
    lines = []
    for budget in sorted({c[1] for c in rows} & set(chosen_by_budget)):
        chosen = chosen_by_budget[budget]
        lines += [
            f"### {budget:,} simulations",
            "",
            "| task | method | C2ST mean | C2ST worst | fit s | sample s | CPU s |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for task in TASKS:
            for method in (chosen, *PEERS):
                row = rows.get((task, budget, method))
                name = "flowdiff" if method == chosen else method
                if row is None:
                    if any((task, budget, m) in rows for m in (chosen, *PEERS)):
                        lines.append(f"| {task} | {name} | not run | | | | |")
                    continue
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
        for b in (1_000, 10_000, 100_000)
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
    parser.add_argument(
        "--chosen",
        nargs="+",
        type=chosen_at,
        default=[],
        help="BUDGET=CANDIDATE: the candidate shown as flowdiff at a budget (default: `default`)",
    )
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
    rows = recorded(results)
    chosen = {budget: "default" for _, budget, _ in rows} | dict(args.chosen)  # --chosen wins
    args.chosen = sorted(chosen.items())
    publish(args.output, SECTION, report(args, rows, time.perf_counter() - start))


if __name__ == "__main__":
    main()
