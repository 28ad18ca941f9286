"""Posterior estimation against the ``sbi`` package (NPE, FMPE) on the same simulations.

Four tasks with exact posterior samples (``studies/sbi_tasks.py``): ``linear_gaussian``
(10-D Gaussian), ``squares`` (8 narrow modes), ``ring`` (two arcs of a thin ring) and ``growth``
(logistic growth under harvesting: a thin curved filament).

For each task and budget (1k, 10k, 100k simulations) one training set is simulated and every
method trains on it, in this one process: flowdiff (conditional flow matching with ``data=arrays``
and its defaults: early stopping on the validation loss, best weights restored; composed with
:func:`flowdiff.config.compose_config` and trained by :func:`flowdiff.training.train`, as
``flowdiff-train`` does), and sbi's ``NPE`` (MAF) and ``FMPE`` with their default estimators and
training loops. Each method then draws posterior samples for 10 fixed observations, scored by C2ST
(:func:`flowdiff.metrics.c2st.c2st`) against as many exact posterior samples. Training and
sampling wall times are measured separately (imports excluded).

    taskset -c 0 python -m studies.sbi_compare --budgets 1000 10000
    python -m studies.sbi_compare --tasks ring --budgets 1000 --methods flowdiff
    python -m studies.sbi_compare --tiny --output /tmp/bench.md
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from flowdiff.config import compose_config
from flowdiff.metrics.c2st import c2st
from flowdiff.model.module import GenerativeModule
from flowdiff.sbi.settings import budget_settings
from flowdiff.sbi.tasks.linear_gaussian import write_pairs
from flowdiff.training import train
from studies.common import REPO, command_line, machine, now, result_file, write_section
from studies.sbi_tasks import TASKS, Task, make_task

SECTION = "sbi_compare"
METHODS = ("flowdiff", "NPE", "FMPE")
#: sbi's training batch size (its default), stated so the 100k runs' cost is known.
SBI_BATCH = 200
#: What a benchmark run leaves out of a flowdiff run: progress bar, figures, TensorBoard and the
#: learning-rate monitor. It keeps validation (early stopping), the best checkpoint (the best
#: weights are sampled) and the run records (events.jsonl says why training stopped).
LEAN = [
    "trainer=cpu",
    "~logger",
    "callbacks.progress_bar=null",
    "callbacks.sample_figures=null",
    "callbacks.lr_monitor=null",
    "callbacks.model_checkpoint.save_top_k=1",
    "+trainer.enable_model_summary=false",
    "+trainer.enable_progress_bar=false",
]


def budget_overrides(budget: int) -> list[str]:
    """What ``budget`` simulations change from the ``data=arrays`` defaults: the batch size and
    patience of :func:`flowdiff.sbi.settings.budget_settings`, as ``PosteriorEstimator`` sets
    them (the same for every task)."""
    scaled = budget_settings(budget)
    return [
        f"batch_size={scaled['batch_size']}",
        f"callbacks.early_stopping.patience={scaled['patience']}",
    ]


def flowdiff_settings(budget: int) -> dict:
    """flowdiff's settings for a simulation budget, as composed: the ``data=arrays`` defaults
    with :func:`budget_overrides`. Training length is not among them: ``data=arrays`` stops on
    the validation loss (early stopping, best weights restored)."""
    cfg = compose_config(
        "train", ["data=arrays", "data.file=x", "data.shape=[1]", *budget_overrides(budget)]
    )
    return dict(
        batch=cfg.batch_size,
        hidden=cfg.model.network.hidden,
        depth=cfg.model.network.depth,
        lr=cfg.base_lr,
        patience=cfg.callbacks.early_stopping.patience,
        sampling_steps=cfg.sampling_steps,
        method=cfg.model.sampler.method,
    )


def flowdiff_overrides(task: Task, pairs: Path, budget: int, tiny: bool, extra=()) -> list[str]:
    return [
        "data=arrays",
        f"data.file={pairs}",
        f"data.shape=[{task.dim_theta}]",
        f"data.cond_shape=[{task.dim_x}]",
        *budget_overrides(budget),
        "seed=0",
        *(["max_epochs=1"] if tiny else []),
        *LEAN,
        *extra,
    ]


def run_flowdiff(task, pairs, budget, observations, count, work, tiny, extra=()):
    """Train through the product path, then sample ``count`` per observation (one batch for
    all observations) from the best checkpoint. Returns samples ``[(count, dim_theta)]``,
    training and sampling seconds, and the epochs trained with why training stopped."""
    run_dir = work / f"{task.name}_{budget}_flowdiff"
    shutil.rmtree(run_dir, ignore_errors=True)
    overrides = flowdiff_overrides(task, pairs, budget, tiny, extra)
    start = time.perf_counter()
    train(compose_config("train", overrides, output_dir=run_dir))
    model = GenerativeModule.load_from_checkpoint(best_checkpoint(run_dir / "checkpoints"))
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    # All observations in one call: one condition per sample, as generate() takes them.
    cond = torch.as_tensor(np.repeat(observations, count, axis=0), dtype=torch.float32)
    drawn = model.sample(cond=cond, generator=torch.Generator().manual_seed(0))
    samples = list(drawn.double().numpy().reshape(len(observations), count, -1))
    return samples, train_seconds, time.perf_counter() - start, stopping(run_dir)


def best_checkpoint(folder: Path) -> Path:
    """The checkpoint with the lowest val/loss in its name (``epochXXX-val_lossX.XXXX.ckpt``)."""
    scored = [
        (float(match.group(1)), path)
        for path in folder.glob("epoch*.ckpt")
        if (match := re.search(r"val_loss(-?[\d.]+)\.ckpt$", path.name))
    ]
    return min(scored)[1] if scored else folder / "last.ckpt"


def stopping(run_dir: Path) -> str:
    """``"<epochs> (<reason>)"`` from the run's events.jsonl ``end`` event."""
    for line in reversed((run_dir / "events.jsonl").read_text().splitlines()):
        event = json.loads(line)
        if event["event"] == "end":
            early = event["reason"].startswith("EarlyStopping")
            return f"{event['epoch']} ({'early stop' if early else event['reason']})"
    return "?"


def run_sbi(method, task, theta, x, observations, count, work, tiny):
    """sbi's NPE or FMPE with default estimator and training loop (early stopping)."""
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
    inference.append_simulations(
        torch.as_tensor(theta, dtype=torch.float32), torch.as_tensor(x, dtype=torch.float32)
    )
    inference.train(training_batch_size=SBI_BATCH, **({"max_num_epochs": 1} if tiny else {}))
    posterior = inference.build_posterior()
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    # All observations in one call, as for flowdiff: drawn is (count, observations, dim_theta).
    x_o = torch.as_tensor(np.asarray(observations), dtype=torch.float32)
    drawn = posterior.sample_batched((count,), x=x_o, show_progress_bars=False)
    samples = [drawn[:, i].double().numpy() for i in range(len(observations))]
    epochs = inference.summary["epochs_trained"][-1]
    return samples, train_seconds, time.perf_counter() - start, f"{epochs} (early stop)"


def run(method, task, pairs, budget, observations, args):
    """One method's posterior samples per observation, training and sampling seconds."""
    if method == "flowdiff":
        extra = args.flowdiff_overrides
        return run_flowdiff(
            task, pairs, budget, observations, args.samples, args.work, args.tiny, extra
        )
    with np.load(pairs) as stored:
        theta, x = stored["x"], stored["cond"]
    return run_sbi(method, task, theta, x, observations, args.samples, args.work, args.tiny)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    parser.add_argument("--budgets", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--observations", type=int, default=10)
    parser.add_argument("--samples", type=int, default=1000, help="posterior samples each")
    parser.add_argument("--folds", type=int, default=5, help="C2ST cross-validation folds")
    parser.add_argument("--work", type=Path, default=REPO / "outputs" / "bench_sbi_compare")
    parser.add_argument("--output", type=Path, default=result_file("sbi_compare"))
    parser.add_argument("--tiny", action="store_true", help="seconds-long smoke run")
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        help="JSONL of rows, appended to; the report shows every row in it (the latest per task, "
        "budget and method), so runs on separate cores add up (default: <work>/results.jsonl)",
    )
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite the section from --results, run none"
    )
    parser.add_argument(
        "--not-run",
        default="not run in this session",
        help="why the task x budget x method cells absent from the results were not run",
    )
    parser.add_argument(
        "--flowdiff-overrides", nargs="*", default=[], help="extra Hydra overrides (experiments)"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="torch and BLAS threads (shared machines: 1)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)  # numpy's BLAS too (exact posteriors, C2ST)
    if args.tiny:
        args.budgets, args.observations, args.samples, args.folds = [300], 2, 100, 2

    results = args.results or args.work / "results.jsonl"
    if args.report_only:
        write_section(args.output, SECTION, report(args, recorded(results)))
        return
    tasks = {name: make_task(name) for name in args.tasks}
    observations, exact = {}, {}
    for name, task in tasks.items():
        rng = np.random.default_rng(1)
        _, observations[name] = task.simulator.simulate(args.observations, rng)
        exact[name] = [task.exact(x_o, args.samples, rng) for x_o in observations[name]]
    # Budgets outermost, so an interrupted run has reported every task at the small budgets.
    for budget in args.budgets:
        for name, task in tasks.items():
            pairs = write_pairs(args.work / f"{name}_{budget}.npz", task.simulator, budget, seed=0)
            for method in args.methods:
                print(f"{name} {budget} {method}", flush=True)
                cpu = time.process_time()
                samples, t_train, t_sample, epochs = run(
                    method, task, pairs, budget, observations[name], args
                )
                cpu = time.process_time() - cpu
                pairs_ = zip(exact[name], samples, strict=True)
                scores = [c2st(e, s, folds=args.folds) for e, s in pairs_]
                row = (name, budget, method, np.mean(scores), np.max(scores), t_train, t_sample)
                row = (*row, cpu, epochs)
                print(
                    "| {} | {} | {} | {:.3f} | {:.3f} | {:.1f} | {:.2f} | {:.1f} | {} |".format(
                        *row
                    )
                )
                record(results, row)
                write_section(args.output, SECTION, report(args, recorded(results)))
    print(report(args, recorded(results)))


def record(results: Path, row: tuple) -> None:
    results.parent.mkdir(parents=True, exist_ok=True)
    with open(results, "a") as file:
        file.write(json.dumps([*row[:3], *map(float, row[3:8]), row[8]]) + "\n")


def recorded(results: Path) -> list[tuple]:
    """The latest row per task, budget and method in ``results``."""
    latest = {}
    if results.is_file():
        for line in results.read_text().splitlines():
            row = tuple(json.loads(line))
            latest[row[:3]] = row
    return list(latest.values())


def report(args, rows) -> str:
    """The docs section: settings, one row per task x budget x method, and the targets met."""
    order = {name: i for i, name in enumerate(TASKS)}
    rows = sorted(rows, key=lambda r: (order[r[0]], r[1], METHODS.index(r[2])))
    table = [
        f"| {task} | {budget:,} | {method} | {mean:.3f} | {top:.3f} | {t_train:.1f} | "
        f"{t_sample:.2f} | {t_train + t_sample:.1f} | {cpu:.1f} | {epochs} |"
        for task, budget, method, mean, top, t_train, t_sample, cpu, epochs in rows
    ]
    settings = [
        f"| {label} | {s['batch']} | {s['hidden']} | {s['depth']} | {s['lr']:g} | "
        f"{s['patience']} | {s['method']}, {s['sampling_steps']} steps |"
        for label, s in (
            ("≤2,000", flowdiff_settings(1_000)),
            ("≤20,000", flowdiff_settings(10_000)),
            (">20,000", flowdiff_settings(100_000)),
        )
    ]
    done = {row[:3] for row in rows}
    missing = [
        f"| {task} | {budget:,} | {method} | not run ({args.not_run}) | | | | | | |"
        for task in args.tasks
        for budget in args.budgets
        for method in args.methods
        if (task, budget, method) not in done
    ]
    example = flowdiff_overrides(make_task("linear_gaussian"), Path("<pairs.npz>"), 10_000, False)
    return "\n".join(
        [
            "## Posterior estimation against sbi (NPE, FMPE)",
            "",
            "Generated by `studies/sbi_compare.py` from the rows recorded in its results file; "
            "rerunning it replaces this section. Timings come from a shared 2-core machine.",
            "",
            f"- Date: {now()}; machine: {machine()}",
            f"- Command (this report): `{command_line()}`",
            f"- {args.observations} observations per task from the prior predictive; "
            f"{args.samples} posterior samples per observation and method; C2ST "
            f"(`flowdiff.metrics.c2st.c2st`, {args.folds}-fold) against {args.samples} exact "
            "posterior samples, mean and max over observations (0.5 is perfect).",
            "- One training set per task and budget (seed 0), shared by all methods; times are "
            "wall seconds in one process with one torch/BLAS thread (training includes building "
            "the estimator and loading flowdiff's best checkpoint; sampling is all observations "
            "together); CPU s is the process's CPU time for training and sampling together "
            "(what the method cost, less sensitive than wall time to other jobs on the machine).",
            f"- sbi {_sbi_version()}: default density estimators (NPE: MAF; FMPE: its MLP) and "
            f"training loop (early stopping, 20 epochs' patience), `training_batch_size="
            f"{SBI_BATCH}`.",
            "- flowdiff: `flowdiff-train " + " ".join(example) + "` (run in-process with "
            "`compose_config` + `flowdiff.training.train`): the `data=arrays` defaults (early "
            "stopping on val/loss with the best weights restored, learning rate halved after 10 "
            "validations without improvement; EMA weights) with the batch size and patience "
            "`PosteriorEstimator` picks for the budget (`flowdiff.sbi.settings.budget_settings`), "
            "the same for every task:",
            "",
            "| budget | batch_size | hidden | depth | base_lr | patience | sampler |",
            "|---|---:|---:|---:|---:|---:|---|",
            *settings,
            "",
            "| task | simulations | method | C2ST mean | C2ST max | train s | sample s | "
            "total s | CPU s | epochs (stop) |",
            "|---|---:|---|---:|---:|---:|---:|---:|---:|---|",
            *table,
            *missing,
            "",
            *targets(rows),
        ]
    )


def targets(rows) -> list[str]:
    """Per task x budget cell with all three methods: is flowdiff's C2ST below both peers', and
    its train + sample time at most the faster peer's?"""
    cells = {}
    for task, budget, method, mean, _, t_train, t_sample, cpu, _ in rows:
        cells.setdefault((task, budget), {})[method] = (mean, t_train + t_sample, cpu)
    lines, quality, speed, cpu_speed, total = [], 0, 0, 0, 0
    for (task, budget), got in cells.items():
        if set(got) != set(METHODS):
            continue
        total += 1
        ours, peers = got["flowdiff"], [got["NPE"], got["FMPE"]]
        better = ours[0] < min(p[0] for p in peers)
        faster = ours[1] <= min(p[1] for p in peers)
        cheaper = ours[2] <= min(p[2] for p in peers)
        quality, speed, cpu_speed = quality + better, speed + faster, cpu_speed + cheaper
        lines.append(f"| {task} | {budget:,} | {_met(better)} | {_met(faster)} | {_met(cheaper)} |")
    if not total:
        return []
    return [
        f"Targets: C2ST below both NPE and FMPE in **{quality} of {total}** cells; train + sample "
        f"wall time at most the faster peer's in **{speed} of {total}** cells (CPU time: "
        f"{cpu_speed} of {total}).",
        "",
        "| task | simulations | C2ST below both peers | wall time ≤ faster peer | "
        "CPU time ≤ faster peer |",
        "|---|---:|---|---|---|",
        *lines,
    ]


def _met(flag: bool) -> str:
    return "met" if flag else "missed"


def _sbi_version() -> str:
    import sbi

    return sbi.__version__


if __name__ == "__main__":
    main()
