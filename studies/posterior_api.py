"""The posterior API (``flowdiff.sbi.PosteriorEstimator``) against the command-line route.

For the tasks of ``studies/sbi_compare.py`` (10-D linear-Gaussian, 3-parameter squares) and
each budget, one training set is simulated; the API fits it from memory with sbi_compare's
per-budget settings, and the command-line route (``flowdiff-train`` run in-process:
``compose_config`` + ``flowdiff.training.fit``) trains on the same pairs written as ``.npz`` with
the API's overrides. Reported: whether the two give the same weights and draws, C2ST against
exact posterior samples (10 observations), and both wall times. Then, for a 2-parameter
linear-Gaussian task, the time to draw 10,000 samples for each of 10 observations at several
solver steps (with C2ST), and SBC/coverage of the exact, a fitted and an over-confident posterior.

    python -m studies.posterior_api                 # ~30 min on one shared core
    python -m studies.posterior_api --tiny --output /tmp/bench.md
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from flowdiff.config import compose_config
from flowdiff.metrics.c2st import c2st
from flowdiff.sbi import PosteriorEstimator, calibration, calibration_from_samples
from flowdiff.sbi.tasks.linear_gaussian import LinearGaussian
from flowdiff.training import fit
from studies.common import REPO, command_line, machine, now, result_file, write_section
from studies.sbi_compare import flowdiff_settings, make_task

SECTION = "posterior_api"


def options_for(budget: int, tiny: bool) -> dict:
    """sbi_compare's settings for a budget, as PosteriorEstimator options: training length is
    data=arrays' early stopping (one epoch for --tiny)."""
    s = flowdiff_settings(budget)
    return dict(
        batch_size=s["batch"],
        hidden=s["hidden"],
        depth=s["depth"],
        base_lr=s["lr"],
        sampling_steps=s["sampling_steps"],
        patience=s["patience"],
        seed=0,
        progress=False,
        **({"max_epochs": 1} if tiny else {}),
    )


def draws(model_or_posterior, observations, count) -> np.ndarray:
    generator = torch.Generator().manual_seed(0)
    x_o = torch.as_tensor(np.asarray(observations), dtype=torch.float32)
    return model_or_posterior.sample((count,), x=x_o, generator=generator).double().numpy()


def api_route(theta, x, budget, args):
    estimator = PosteriorEstimator(overrides=["trainer=cpu"], **options_for(budget, args.tiny))
    start = time.perf_counter()
    posterior = estimator.fit(theta, x)
    return estimator, posterior, time.perf_counter() - start


def cli_route(overrides, pairs, run):
    start = time.perf_counter()
    cfg = compose_config("train", [*overrides, f"data.file={pairs}"], output_dir=run)
    model, _ = fit(cfg)
    return model, time.perf_counter() - start


def compare_routes(task, budget, observations, exact, args) -> dict:
    """Both routes ``args.repeats`` times in alternating order; the fastest time of each."""
    theta, x = task.simulator.simulate(budget, np.random.default_rng(0))
    theta, x = theta.astype(np.float32), x.astype(np.float32)
    pairs = args.work / f"{task.name}_{budget}.npz"
    pairs.parent.mkdir(parents=True, exist_ok=True)
    np.savez(pairs, x=theta, cond=x)
    api_times, cli_times, same = [], [], True
    for repeat in range(args.repeats):
        for route in ("api", "cli") if repeat % 2 == 0 else ("cli", "api"):
            if route == "api":
                _, posterior, seconds = api_route(theta, x, budget, args)
                api_times.append(seconds)
                continue
            overrides = options_overrides(task, budget, theta, x, args)
            run = args.work / f"{task.name}_{budget}_cli_{repeat}"
            shutil.rmtree(run, ignore_errors=True)
            model, seconds = cli_route(overrides, pairs, run)
            cli_times.append(seconds)
            cli_state = model.state_dict()
        same &= all(
            torch.equal(value, posterior.model.state_dict()[key])
            for key, value in cli_state.items()
        )
    api_draws = draws(posterior, observations, args.samples)
    scores = [c2st(e, api_draws[:, i], folds=args.folds) for i, e in enumerate(exact)]
    return dict(
        task=task.name,
        budget=budget,
        same=same,
        c2st=float(np.mean(scores)),
        c2st_max=float(np.max(scores)),
        api_s=min(api_times),
        cli_s=min(cli_times),
        epochs=posterior.epoch,
        steps=posterior.global_step,
    )


def options_overrides(task, budget, theta, x, args) -> list[str]:
    """The overrides the API uses for these simulations (``estimator.overrides``)."""
    estimator = PosteriorEstimator(overrides=["trainer=cpu"], **options_for(budget, args.tiny))
    return estimator.config_overrides(theta.shape[1:], x.shape[1:])


def sampling_speed(args) -> tuple[list[dict], list[dict], dict]:
    """2-parameter linear-Gaussian: draw time and C2ST per solver steps; calibration rows."""
    simulator = LinearGaussian.random(dim_theta=2, dim_x=2, seed=0)
    theta, x = simulator.simulate(args.speed_budget, np.random.default_rng(0))
    options = options_for(args.speed_budget, args.tiny)
    rng = np.random.default_rng(1)
    _, observations = simulator.simulate(10, rng)
    exact = [rng.multivariate_normal(*simulator.posterior(x_o), 1000) for x_o in observations]
    x_o = torch.as_tensor(observations, dtype=torch.float32)
    rows, posterior = [], None
    for size in ({}, {"hidden": 64, "depth": 2}):
        estimator = PosteriorEstimator(overrides=["trainer=cpu"], **{**options, **size})
        fitted = estimator.fit(theta, x)
        posterior = posterior or fitted  # calibration: sbi_compare's settings (the first)
        network = f"hidden {estimator.options['hidden']}, depth {estimator.options['depth']}"
        for steps in args.steps:
            start = time.perf_counter()
            drawn = fitted.sample((args.draws,), x=x_o, steps=steps)
            seconds = time.perf_counter() - start
            scores = [
                c2st(e, drawn[:1000, i].double().numpy(), folds=args.folds)
                for i, e in enumerate(exact)
            ]
            row = dict(network=network, steps=steps, nfe=2 * steps, seconds=seconds)
            rows.append({**row, "c2st": float(np.mean(scores))})
    theta_test, x_test = simulator.simulate(args.pairs, np.random.default_rng(2))
    checks = []
    exact_draws = np.stack(
        [rng.multivariate_normal(*simulator.posterior(x_i), 100) for x_i in x_test], axis=1
    )
    checks.append(("exact posterior", calibration_from_samples(theta_test, exact_draws)))
    checks.append(("fitted (API)", calibration(posterior, theta_test, x_test, num_samples=100)))
    fitted = posterior.sample((100,), x=x_test, generator=torch.Generator().manual_seed(3))
    narrow = fitted.mean(0) + 0.5 * (fitted - fitted.mean(0))
    checks.append(
        (
            "fitted, draws pulled halfway to their mean",
            calibration_from_samples(theta_test, narrow.double().numpy()),
        )
    )
    mean = exact_draws.mean(0)
    checks.append(
        (
            "exact, std x 0.7",
            calibration_from_samples(theta_test, mean + 0.7 * (exact_draws - mean)),
        )
    )
    calibration_rows = [dict(name=name, **report.metrics()) for name, report in checks]
    return rows, calibration_rows, options


def warm_up(args) -> None:
    """One tiny fit first, so neither route pays the process's one-time costs (imports...)."""
    theta, x = np.random.default_rng(0).normal(size=(2, 200, 2)).astype(np.float32)
    PosteriorEstimator(max_epochs=1, hidden=16, depth=1, progress=False).fit(theta, x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tasks", nargs="*", default=["linear_gaussian", "squares"], help="none: sampling only"
    )
    parser.add_argument("--budgets", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--samples", type=int, default=1000, help="posterior draws for C2ST")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--speed-budget", type=int, default=1_000)
    parser.add_argument("--draws", type=int, default=10_000, help="per observation (speed)")
    parser.add_argument("--steps", type=int, nargs="+", default=[20, 8, 4])
    parser.add_argument("--no-sampling", action="store_true", help="routes only")
    parser.add_argument("--pairs", type=int, default=500, help="held-out pairs for SBC")
    parser.add_argument("--work", type=Path, default=REPO / "outputs" / "bench_posterior_api")
    parser.add_argument("--output", type=Path, default=result_file("posterior_api"))
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2, help="runs of each route (fastest)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    if args.tiny:
        args.budgets, args.samples, args.folds, args.draws = [300], 100, 2, 200
        args.speed_budget, args.pairs, args.repeats = 300, 50, 1
    warm_up(args)
    routes = []
    for budget in args.budgets:
        for name in args.tasks:
            task = make_task(name)
            rng = np.random.default_rng(1)
            _, observations = task.simulator.simulate(10, rng)
            exact = [task.exact(x_o, args.samples, rng) for x_o in observations]
            routes.append(compare_routes(task, budget, observations, exact, args))
            print(routes[-1], flush=True)
    speed, checks, options = ([], [], {}) if args.no_sampling else sampling_speed(args)
    body = report(args, routes, speed, checks, options)
    write_section(args.output, SECTION, body)
    print(body)


def report(args, routes, speed, checks, options) -> str:
    route_rows = [
        f"| {r['task']} | {r['budget']:,} | {r['epochs']} / {r['steps']:,} | "
        f"{'yes' if r['same'] else 'NO'} | {r['c2st']:.3f} | {r['c2st_max']:.3f} | "
        f"{r['api_s']:.1f} | {r['cli_s']:.1f} | {100 * (r['api_s'] / r['cli_s'] - 1):+.1f}% |"
        for r in routes
    ]
    speed_rows = [
        f"| {r['network']} | {r['steps']} | {r['nfe']} | {r['seconds']:.1f} | {r['c2st']:.3f} |"
        for r in speed
    ]
    check_rows = [
        f"| {c['name']} | {c['sbc_min_p']:.3g} | {'pass' if c['sbc_pass'] else 'FLAGGED'} | "
        f"{c['coverage_p']:.3g} | {c['coverage_max_gap']:.3f} | "
        f"{'pass' if c['coverage_pass'] else 'FLAGGED'} |"
        for c in checks
    ]
    return "\n".join(
        [
            "## Posterior API against the command-line route",
            "",
            "Generated by `python -m studies.posterior_api`; rerunning it replaces this section.",
            "",
            f"- Date: {now()}; machine: {machine()}. Run pinned to one core (`taskset -c 1`, "
            f"{args.threads} torch thread) of a 2-core machine shared with other developers' jobs: "
            "wall times carry their noise.",
            f"- Command: `{command_line()}`",
            "- API: `PosteriorEstimator(**options).fit(theta, x)` with sbi_compare's per-budget "
            "settings (batch, hidden, depth, lr, sampling steps) and the `data=arrays` defaults "
            "(early stopping on a 10% validation split, restore-best, plateau "
            "LR schedule) and the API's (no figures or "
            "logger). CLI route: `flowdiff-train` in-process (`compose_config('train', "
            "estimator.overrides + ['data.file=pairs.npz'])` + `flowdiff.training.fit`), same "
            "seed. "
            f"C2ST ({args.folds}-fold) of {args.samples} draws against as many exact posterior "
            "samples, mean and max over 10 observations; the draws come from the API's posterior "
            f"(the routes' weights are compared tensor by tensor). Times: the fastest of "
            f"{args.repeats} runs of each route in alternating order, after a warm-up fit.",
            "",
            "| task | simulations | epochs / steps | same weights | C2ST mean | C2ST max | API s | "
            "CLI s | API over CLI |",
            "|---|---:|---:|---|---:|---:|---:|---:|---:|",
            *route_rows,
            "",
            f"Sampling: 2-parameter linear-Gaussian (`LinearGaussian.random(2, 2, seed=0)`), "
            f"{args.speed_budget:,} simulations, options {options}; {args.draws:,} draws for each "
            f"of 10 observations in one call (`posterior.sample(({args.draws},), x=x_o, "
            "steps=k)`, midpoint solver), C2ST on 1,000 of them per observation:",
            "",
            "| steps | NFE | seconds | C2ST mean |",
            "|---:|---:|---:|---:|",
            *speed_rows,
            "",
            f"Calibration on {args.pairs} held-out simulations of that task, 100 draws each "
            "(`flowdiff.sbi.calibration`; tests at level 0.01, SBC Bonferroni over parameters):",
            "",
            "| posterior | SBC min p | SBC | coverage p | coverage max gap | coverage |",
            "|---|---:|---|---:|---:|---|",
            *check_rows,
        ]
    )


if __name__ == "__main__":
    main()
