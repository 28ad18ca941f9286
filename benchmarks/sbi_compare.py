"""Posterior estimation against the ``sbi`` package (NPE, FMPE) on the same simulations.

Two tasks with exact posterior samples:

* ``linear_gaussian``: :class:`flowdiff.data.synthetic.linear_gaussian.LinearGaussian`
  ``.random(dim_theta=10, dim_x=10, seed=0)``: prior N(0, I), x = A theta + b + noise; the
  posterior is Gaussian and known in closed form.
* ``squares``: :class:`flowdiff.data.synthetic.squares.SquaresSimulator` (3 parameters in
  [-1, 1], squares observed with noise 0.05 plus their sum with noise 0.5): up to 8 narrow modes,
  sampled exactly by grid inverse-CDF and rejection.

For each task and budget (1k, 10k, 100k simulations) one training set is simulated and every
method trains on it, in this one process: flowdiff (conditional flow matching with ``data=arrays``,
composed with :func:`flowdiff.config.compose_config` and trained by
:func:`flowdiff.training.train`, as ``flowdiff-train`` does), and sbi's ``NPE`` (MAF) and ``FMPE``
with their default estimators and training loops. Each method then draws posterior samples for
10 fixed observations, scored by C2ST (:func:`flowdiff.metrics.c2st.c2st`) against as many exact
posterior samples. Training and sampling wall times are measured separately (imports excluded).

    python benchmarks/sbi_compare.py                     # ~45 min on 2 CPU cores
    python benchmarks/sbi_compare.py --tasks squares --budgets 1000 --methods flowdiff
    python benchmarks/sbi_compare.py --tiny --output /tmp/bench.md
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from flowdiff.config import compose_config
from flowdiff.data.synthetic.linear_gaussian import LinearGaussian, write_pairs
from flowdiff.data.synthetic.squares import SquaresSimulator
from flowdiff.metrics.c2st import c2st
from flowdiff.model.module import GenerativeModule
from flowdiff.training import train

sys.path.insert(0, str(Path(__file__).parent))
from report import REPO, command_line, machine, now, write_section

SECTION = "sbi_compare"
METHODS = ("flowdiff", "NPE", "FMPE")
#: sbi's training batch size (its default), stated so the 100k runs' cost is known.
SBI_BATCH = 200
#: What a benchmark run leaves out of a flowdiff run: progress bar, figures, loggers, best-k
#: checkpoints, run records and validation (the settings are fixed, nothing is selected on it).
#: ``last.ckpt`` is written once, at the end: the posterior is loaded from it.
LEAN = [
    "data.val_fraction=0.01",
    "trainer.limit_val_batches=0",
    "trainer=cpu",
    "~logger",
    "callbacks.progress_bar=null",
    "callbacks.sample_figures=null",
    "callbacks.lr_monitor=null",
    "callbacks.model_checkpoint=null",
    "callbacks.run_records=null",
    "+trainer.enable_model_summary=false",
    "+trainer.enable_progress_bar=false",
]


@dataclass
class Task:
    """A simulator, its prior as a torch distribution (for sbi) and an exact posterior sampler."""

    name: str
    simulator: object
    prior: torch.distributions.Distribution
    dim_theta: int
    dim_x: int

    def exact(self, x_o: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
        if isinstance(self.simulator, LinearGaussian):
            mean, cov = self.simulator.posterior(x_o)
            return rng.multivariate_normal(mean, cov, count)
        return self.simulator.posterior_samples(x_o, count, rng)


def make_task(name: str) -> Task:
    if name == "linear_gaussian":
        simulator = LinearGaussian.random(dim_theta=10, dim_x=10, seed=0)
        prior = torch.distributions.MultivariateNormal(torch.zeros(10), torch.eye(10))
        return Task(name, simulator, prior, 10, 10)
    if name == "squares":
        from sbi.utils import BoxUniform

        simulator = SquaresSimulator(dim=3, noise=0.05, sum_noise=0.5)
        return Task(name, simulator, BoxUniform(-torch.ones(3), torch.ones(3)), 3, 4)
    raise ValueError(f"unknown task {name!r}; choose linear_gaussian or squares")


def flowdiff_settings(budget: int) -> dict:
    """flowdiff's settings for a simulation budget (fixed in advance, the same for both tasks).

    Optimizer steps grow slowly with the budget (750 at 1k sims to 6k at 100k): at 1k, longer
    training memorises the pairs (linear-Gaussian C2ST on 5 observations, with a variant
    network: 0.74 at 750 steps, 0.83 at 1.5k, 0.98 at 3k), and shorter training keeps within
    the peers' wall time. Dropout regularises the smallest budget (same variant: 0.74 -> 0.70).
    Epochs follow from the batch size.
    """
    if budget <= 2_000:
        return dict(batch=128, steps=750, hidden=256, depth=3, lr=1e-3, dropout=0.1)
    if budget <= 20_000:
        return dict(batch=256, steps=3_000, hidden=256, depth=4, lr=1e-3, dropout=0.0)
    return dict(batch=512, steps=6_000, hidden=256, depth=4, lr=1e-3, dropout=0.0)


def flowdiff_overrides(
    task: Task, pairs: Path, budget: int, tiny: bool, extra: list[str] = ()
) -> list[str]:
    s = flowdiff_settings(budget)
    steps_per_epoch = max(1, int(budget * 0.99) // s["batch"])
    epochs = 1 if tiny else max(1, round(s["steps"] / steps_per_epoch))
    return [
        "data=arrays",
        f"data.file={pairs}",
        f"data.shape=[{task.dim_theta}]",
        f"data.cond_shape=[{task.dim_x}]",
        "model/network=mlp",
        f"model.network.hidden={s['hidden']}",
        f"model.network.depth={s['depth']}",
        f"model.network.dropout={s['dropout']}",
        f"batch_size={s['batch']}",
        f"base_lr={s['lr']}",
        f"max_epochs={epochs}",
        "seed=0",
        *LEAN,
        f"+callbacks.last_checkpoint.every_n_epochs={epochs}",
        *extra,
    ]


def run_flowdiff(task, pairs, budget, observations, count, work, tiny, extra=()):
    """Train through the product path, then sample ``count`` per observation (one batch for
    all observations). Returns samples ``[(count, dim_theta)]``, training and sampling
    seconds."""
    run_dir = work / f"{task.name}_{budget}_flowdiff"
    shutil.rmtree(run_dir, ignore_errors=True)
    overrides = flowdiff_overrides(task, pairs, budget, tiny, extra)
    start = time.perf_counter()
    train(compose_config("train_fb_flow_matching", overrides, output_dir=run_dir))
    model = GenerativeModule.load_from_checkpoint(run_dir / "checkpoints" / "last.ckpt")
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    # All observations in one call: one condition per sample, as generate() takes them.
    cond = torch.as_tensor(np.repeat(observations, count, axis=0), dtype=torch.float32)
    drawn = model.sample(cond=cond, generator=torch.Generator().manual_seed(0))
    samples = list(drawn.double().numpy().reshape(len(observations), count, -1))
    return samples, train_seconds, time.perf_counter() - start


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
    return samples, train_seconds, time.perf_counter() - start


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
    parser.add_argument("--tasks", nargs="+", default=["linear_gaussian", "squares"])
    parser.add_argument("--budgets", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--observations", type=int, default=10)
    parser.add_argument("--samples", type=int, default=1000, help="posterior samples each")
    parser.add_argument("--folds", type=int, default=5, help="C2ST cross-validation folds")
    parser.add_argument("--work", type=Path, default=REPO / "outputs" / "bench_sbi_compare")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks.md")
    parser.add_argument("--tiny", action="store_true", help="seconds-long smoke run")
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

    tasks = {name: make_task(name) for name in args.tasks}
    observations, exact = {}, {}
    for name, task in tasks.items():
        rng = np.random.default_rng(1)
        _, observations[name] = task.simulator.simulate(args.observations, rng)
        exact[name] = [task.exact(x_o, args.samples, rng) for x_o in observations[name]]
    rows = []
    # Budgets outermost, so an interrupted run has reported every task at the small budgets.
    for budget in args.budgets:
        for name, task in tasks.items():
            pairs = write_pairs(args.work / f"{name}_{budget}.npz", task.simulator, budget, seed=0)
            for method in args.methods:
                print(f"{name} {budget} {method}", flush=True)
                samples, t_train, t_sample = run(
                    method, task, pairs, budget, observations[name], args
                )
                pairs_ = zip(exact[name], samples, strict=True)
                scores = [c2st(e, s, folds=args.folds) for e, s in pairs_]
                row = (name, budget, method, np.mean(scores), np.max(scores), t_train, t_sample)
                print("| {} | {} | {} | {:.3f} | {:.3f} | {:.1f} | {:.2f} |".format(*row))
                rows.append(row)
                write_section(args.output, SECTION, report(args, rows))
    body = report(args, rows)
    write_section(args.output, SECTION, body)
    print(body)


def report(args, rows) -> str:
    table = [
        f"| {task} | {budget:,} | {method} | {mean:.3f} | {top:.3f} | {t_train:.1f} | "
        f"{t_sample:.2f} |"
        for task, budget, method, mean, top, t_train, t_sample in sorted(
            rows, key=lambda row: (args.tasks.index(row[0]), row[1], METHODS.index(row[2]))
        )
    ]
    settings = [
        f"| ≤{limit:,} | {s['batch']} | {s['steps']:,} | {s['hidden']} | {s['depth']} | "
        f"{s['dropout']:g} | {s['lr']:g} |"
        for limit, s in ((2_000, flowdiff_settings(1_000)), (20_000, flowdiff_settings(10_000)))
    ]
    big = flowdiff_settings(100_000)
    settings.append(
        f"| >20,000 | {big['batch']} | {big['steps']:,} | {big['hidden']} | {big['depth']} | "
        f"{big['dropout']:g} | {big['lr']:g} |"
    )
    example = flowdiff_overrides(make_task("linear_gaussian"), Path("<pairs.npz>"), 10_000, False)
    return "\n".join(
        [
            "## Posterior estimation against sbi (NPE, FMPE)",
            "",
            "Generated by `benchmarks/sbi_compare.py`; rerunning it replaces this section.",
            "",
            f"- Date: {now()}; machine: {machine()}",
            f"- Command: `{command_line()}`",
            f"- {args.observations} observations per task from the prior predictive; "
            f"{args.samples} posterior samples per observation and method; C2ST "
            f"(`flowdiff.metrics.c2st.c2st`, {args.folds}-fold) against {args.samples} exact "
            "posterior samples, mean and max over observations (0.5 is perfect).",
            "- One training set per task and budget (seed 0), shared by all methods; times are "
            "wall seconds in this one process (training includes building the estimator / "
            "loading flowdiff's checkpoint; sampling is all observations together).",
            f"- sbi {_sbi_version()}: default density estimators (NPE: MAF; FMPE: its MLP) and "
            f"training loop (early stopping, 20 epochs' patience), `training_batch_size="
            f"{SBI_BATCH}`.",
            "- flowdiff: `flowdiff-train --config-name=train_fb_flow_matching "
            + " ".join(example)
            + "` (run in-process with `compose_config` + `flowdiff.training.train`; EMA weights, "
            "midpoint ODE sampler, 20 steps). Settings per budget:",
            "",
            "| budget | batch_size | optimizer steps | hidden | depth | dropout | base_lr |",
            "|---|---:|---:|---:|---:|---:|---:|",
            *settings,
            "",
            "| task | simulations | method | C2ST mean | C2ST max | train s | sample s |",
            "|---|---:|---|---:|---:|---:|---:|",
            *table,
        ]
    )


def _sbi_version() -> str:
    import sbi

    return sbi.__version__


if __name__ == "__main__":
    main()
