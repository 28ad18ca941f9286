"""Posterior estimation by diffusion beside flow matching: ``PosteriorEstimator(path=...)``.

For each task of ``studies/sbi_tasks.py`` asked for, one set of simulations is drawn and both
families train on it with the ``data=arrays`` defaults (early stopping, best weights), through
:class:`flowdiff.sbi.PosteriorEstimator` with ``path="flow_matching"`` and ``path="diffusion"``.
Each posterior then draws ``--samples`` samples for ``--observations`` fixed observations, scored
by C2ST against as many exact posterior samples (0.5: indistinguishable). The diffusion posterior
is scored at its preset's step count and at each of ``--steps`` (more steps may not be worse;
issue 24 chose from them whether ``path="diffusion"`` needs its own step count).

    taskset -c 1 python -m studies.diffusion_posterior --tasks linear_gaussian ring
    taskset -c 1 python -m studies.diffusion_posterior --tasks squares growth --steps 16 32 100
    python -m studies.diffusion_posterior --paths diffusion --steps 8 16 \
        --scheduler-options '{"timestep_spacing": "leading"}'   # also with these options
    python -m studies.diffusion_posterior --tiny --output /tmp/post.md
"""

from __future__ import annotations

import json

import numpy as np
import torch

from flowdiff.sbi import PosteriorEstimator
from flowdiff.sbi.diagnostics import posterior_c2st
from studies import common
from studies.sbi_tasks import TASKS, make_task


def fit(task, path: str, theta, x, args):
    estimator = PosteriorEstimator(path=path, progress=False, seed=0)
    with common.Stopwatch() as watch:
        posterior = estimator.fit(theta, x, max_time=args.max_time)
    return posterior, watch.seconds


def scores(posterior, observations, references, steps=None) -> float:
    """Mean C2ST over the observations."""
    values = []
    for x_o, reference in zip(observations, references, strict=True):
        if steps is None:
            values.append(posterior_c2st(posterior, x_o, reference))
        else:
            generator = torch.Generator().manual_seed(0)
            drawn = posterior.sample(
                (len(reference),), x=torch.as_tensor(x_o), generator=generator, steps=steps
            )
            from flowdiff.metrics.c2st import c2st

            values.append(c2st(reference, drawn.double().numpy(), 5, 0))
    return float(np.mean(values))


def run_task(name: str, args) -> list[str]:
    task = make_task(name)
    theta, x = task.simulator.simulate(args.simulations, np.random.default_rng(0))
    theta, x = torch.as_tensor(theta).float(), torch.as_tensor(x).float()
    observations = task.simulator.simulate(args.observations, np.random.default_rng(1))[1]
    references = [task.exact(x_o, args.samples, np.random.default_rng(2)) for x_o in observations]
    rows = []
    for path in args.paths:
        posterior, seconds = fit(task, path, theta, x, args)
        sampler = posterior.model.sampler
        kind = getattr(sampler, "sampler_type", None) or sampler.hparams.get("method")
        label = f"{type(sampler).__name__}({kind}, {sampler.steps})"
        score = scores(posterior, observations, references)
        rows.append(f"| {name} | {path} | {label} | {score:.3f} | {seconds:.0f} |")
        print(rows[-1], flush=True)
        for steps in args.steps if path == "diffusion" else ():
            many = scores(posterior, observations, references, steps=steps)
            rows.append(f"| {name} | {path} | same, {steps} steps | {many:.3f} | |")
            print(rows[-1], flush=True)
            if args.scheduler_options:
                trained = posterior.model.sampler
                options = {**trained.hparams, "scheduler_options": args.scheduler_options}
                posterior.model.sampler = type(trained)(**options)
                other = scores(posterior, observations, references, steps=steps)
                posterior.model.sampler = trained
                shown = json.dumps(args.scheduler_options)
                rows.append(f"| {name} | {path} | same, {steps} steps, `{shown}` | {other:.3f} | |")
                print(rows[-1], flush=True)
    return rows


def main(argv=None) -> None:
    parser = common.arguments(__doc__, tiny="1000 simulations, 1 observation, 200 samples")
    parser.add_argument("--tasks", nargs="+", default=["linear_gaussian", "ring"], choices=TASKS)
    parser.add_argument("--simulations", type=int, default=10_000)
    parser.add_argument("--observations", type=int, default=3)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--steps", type=int, nargs="*", default=[100], help="diffusion")
    parser.add_argument("--paths", nargs="+", default=["flow_matching", "diffusion"])
    parser.add_argument("--label", default="", help="a section of its own")
    parser.add_argument("--max-time", type=float, default=600.0)
    parser.add_argument(
        "--scheduler-options",
        type=json.loads,
        default=None,
        help="JSON: also score the diffusion posterior at each of --steps with these "
        'scheduler_options, e.g. \'{"timestep_spacing": "leading"}\'',
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    common.quiet()
    if args.tiny:
        args.simulations, args.observations, args.samples, args.max_time = 1000, 1, 200, 20.0
    rows = [row for name in args.tasks for row in run_task(name, args)]
    lines = [
        "## Posterior estimation: diffusion beside flow matching",
        "",
        *common.provenance(),
        "",
        f"{args.simulations} simulations per task; `PosteriorEstimator(path=...)` with the "
        "`data=arrays` defaults; mean C2ST over "
        f"{args.observations} observations x {args.samples} samples against exact posterior "
        "samples (0.5 = indistinguishable); training wall seconds on a shared core.",
        "",
        "| task | path | sampler | C2ST | training s |",
        "|---|---|---|---:|---:|",
        *rows,
    ]
    section = "_".join(["diffusion_posterior", *([args.label] if args.label else [])])
    common.publish(args.output, section, "\n".join(lines))


if __name__ == "__main__":
    main()
