"""Few-step generation by reflow and MeanFlow: quality kept and cost, on posteriors and digits.

Posteriors (``posteriors``): for each task, one training set of ``--budget`` simulations; the
teacher is ``PosteriorEstimator().fit`` with its defaults (16 network calls per draw), the student
``reflow_posterior(teacher)`` (early stopping on the validation loss, as the teacher). Each is
timed drawing ``--draws`` samples for each of 10 fixed observations (all in one call), scored by
C2ST against ``--samples`` exact posterior samples per observation (the first draws), and checked
for calibration (SBC and TARP on ``--calibration`` held-out simulations, 100 draws each). sbi's
NPE (default MAF, its own training loop) is trained on the same simulations and timed drawing the
same ``--draws`` x 10 samples. ``--students reflow mean_flow`` trains both students of the one
teacher (``mean_flow_posterior``: MeanFlow distillation) in the same run; ``reflow2`` after
``reflow`` adds 2-reflow, a second student trained on the first's pairs.

Digits (``digits TEACHER_CKPT STUDENT_CKPT [--distilled CKPT]``): pixel C2ST against the
held-out digits and class accuracy (:func:`flowdiff.evaluate`, 2000 samples; its classifier is
trained on the real training split), and the time to draw 1000 digits, of the teacher's default
sampler, the student at 1 and 2 Euler steps, one-step distilled students (trained at
``t ~ U[0, 0.001]`` only) and ``--mean-flow`` students (``experiment=mean_flow``) at 1 and 2
jumps of their own sampler.

Judge (``judge TEACHER_CKPT STUDENT_CKPT --distilled CKPT --mean-flow CKPT``): the teacher and
the students at one and two calls on :mod:`studies.digits_judge`'s full-sample C2ST (one digit
per real digit).

Diffusion (``diffusion CKPT``): a trained diffusion model sampled in few steps by diffusers'
schedulers (``--samplers``, ``--steps``), scored as the digits above: what exists without
distillation.

    taskset -c 0 python -m studies.few_step posteriors --tasks linear_gaussian ring
    taskset -c 0 python -m studies.few_step digits outputs/teacher/checkpoints/last.ckpt \\
        outputs/student/checkpoints/last.ckpt

Times are CPU seconds of this process (one torch thread) and wall seconds; on a shared machine
the CPU seconds are the steadier figure.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from contextlib import contextmanager
from functools import partial

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from flowdiff.distillation import mean_flow_posterior, reflow_posterior
from flowdiff.metrics.c2st import c2st
from flowdiff.sbi import PosteriorEstimator, calibration
from studies.sbi_tasks import make_task


@contextmanager
def clock(into: dict, key: str):
    """Adds ``<key>_cpu`` and ``<key>_wall`` seconds of the block to ``into``."""
    cpu, wall = time.process_time(), time.perf_counter()
    yield
    into[f"{key}_cpu"] = time.process_time() - cpu
    into[f"{key}_wall"] = time.perf_counter() - wall


class Steps:
    """A posterior sampled with a given number of solver steps (``None``: its own)."""

    def __init__(self, posterior, steps):
        self.posterior, self.steps = posterior, steps

    def sample(self, shape, x, generator=None):
        return self.posterior.sample(shape, x=x, generator=generator, steps=self.steps)


def score(name, posterior, x_obs, exact, theta_cal, x_cal, args) -> dict:
    """Sampling time of ``--draws`` x 10, mean C2ST, and SBC/TARP for one posterior."""
    row = {"setting": name}
    x_o = torch.as_tensor(x_obs, dtype=torch.float32)
    with clock(row, "sample"):
        drawn = posterior.sample((args.draws,), x=x_o, generator=torch.Generator().manual_seed(0))
    drawn = drawn[: args.samples].double().numpy()
    row["c2st"] = float(np.mean([c2st(e, drawn[:, i], 5, 0) for i, e in enumerate(exact)]))
    if hasattr(posterior, "posterior"):  # flowdiff: calibration too
        cal = calibration(posterior, theta_cal, x_cal, num_samples=100)
        row["sbc"], row["tarp"] = cal.sbc_passed, cal.coverage_passed
    return row


def npe(task, theta, x) -> tuple[object, dict]:
    from sbi.inference import NPE
    from sbi.utils.tracking import TensorBoardTracker
    from torch.utils.tensorboard import SummaryWriter

    torch.manual_seed(0)
    cost = {}
    logs = tempfile.mkdtemp(prefix="sbi-logs-")  # sbi writes ./sbi-logs otherwise
    with clock(cost, "train"):
        tracker = TensorBoardTracker(SummaryWriter(logs))
        inference = NPE(prior=task.prior, show_progress_bars=False, tracker=tracker)
        inference.append_simulations(torch.as_tensor(theta).float(), torch.as_tensor(x).float())
        inference.train(training_batch_size=200)
        posterior = inference.build_posterior()

    class Batched:
        def sample(self, shape, x, generator=None):
            return posterior.sample_batched(shape, x=x, show_progress_bars=False)

    return Batched(), cost


#: ``--students``: how each student is trained from its start (reflow2: a second reflow from the
#: first student, drawn with 8 of its Euler steps; its own one step would hand the next student
#: its own pairs to copy)
DISTILLERS = {
    "reflow": reflow_posterior,
    "reflow2": partial(reflow_posterior, teacher_steps=8),
    "mean_flow": mean_flow_posterior,
}


def posteriors(args) -> None:
    for name in args.tasks:
        task = make_task(name)
        rng = np.random.default_rng(1)
        _, x_obs = task.simulator.simulate(10, rng)
        exact = [task.exact(x_o, args.samples, rng) for x_o in x_obs]
        theta, x = task.simulator.simulate(args.budget, np.random.default_rng(0))
        theta, x = theta.astype(np.float32), x.astype(np.float32)
        theta_cal, x_cal = task.simulator.simulate(args.calibration, np.random.default_rng(2))
        cost = {}
        with clock(cost, "teacher_train"):
            teacher = PosteriorEstimator(progress=False, overrides=["trainer=cpu"]).fit(theta, x)
        settings = [("teacher (16 calls)", teacher, None)]
        students = {}
        for method in args.students:
            start = students["reflow"] if method == "reflow2" else teacher
            with clock(cost, f"{method}_train"):
                student = students[method] = DISTILLERS[method](start, steps=1)
            cost.update({f"{method}_epochs": student.epoch, f"{method}_cost": student.reflow_cost})
            settings += [(f"{method} 1 call", student, 1), (f"{method} 2 calls", student, 2)]
        cost.update(teacher_epochs=teacher.epoch)
        print(name, cost, flush=True)
        for label, posterior, steps in settings:
            row = score(label, Steps(posterior, steps), x_obs, exact, theta_cal, x_cal, args)
            print(name, row, flush=True)
        if not args.no_npe:
            sbi_posterior, npe_cost = npe(task, theta, x)
            row = score("sbi NPE", sbi_posterior, x_obs, exact, None, None, args)
            print(name, {**row, **npe_cost}, flush=True)


def digits(args) -> None:
    from flowdiff import evaluate
    from flowdiff.model.loading import load_model
    from flowdiff.samplers import MeanFlowSampler, ODESampler

    euler = lambda n: ODESampler(method="euler", steps=n)  # noqa: E731
    settings = [("teacher default", args.teacher, None)]
    settings += [(f"student euler x {n}", args.student, euler(n)) for n in (1, 2)]
    settings += [("distilled euler x 1", ckpt, euler(1)) for ckpt in args.distilled]
    for ckpt in args.mean_flow:
        settings += [(f"mean flow x {n}", ckpt, MeanFlowSampler(steps=n)) for n in (1, 2)]
    labels = torch.arange(10).repeat_interleave(100)
    for label, ckpt, chosen in settings:
        model = load_model(ckpt).model
        sampler = chosen or model.sampler
        row = {"setting": label}
        with clock(row, "sample_1000"):  # 100 per class
            out = model.generate(cond=labels, sampler=sampler, generator=torch.Generator())
        result = evaluate(ckpt, sampler=sampler, num_samples=args.num_samples, nll_samples=0)
        row.update(nfe=out.nfe, c2st=result.metrics["c2st"])
        row.update(accuracy=result.metrics["cond_accuracy"], floor=result.floor)
        print(row, flush=True)


def judged(args) -> None:
    """The teacher, and the students at one and two calls, on ``studies.digits_judge``'s
    full-sample C2ST."""
    from flowdiff.evaluation.suite import MetricOptions, MetricSuite
    from flowdiff.model.loading import load_model
    from flowdiff.samplers import MeanFlowSampler, ODESampler
    from studies.digits_judge import all_digits

    reference = all_digits()
    suite = MetricSuite(reference, MetricOptions(full_c2st=True, seed=0))
    labels = torch.cat([reference.train_cond, reference.val_cond])
    euler = lambda n: ODESampler(method="euler", steps=n)  # noqa: E731
    settings = [("teacher default", args.teacher, None)]
    settings += [(f"reflow euler x {n}", args.student, euler(n)) for n in (1, 2)]
    settings += [("distilled euler x 1", ckpt, euler(1)) for ckpt in args.distilled]
    for ckpt in args.mean_flow:
        settings += [(f"mean flow x {n}", ckpt, MeanFlowSampler(steps=n)) for n in (1, 2)]
    for label, ckpt, sampler in settings:
        model = load_model(ckpt).model
        generator = torch.Generator().manual_seed(0)
        x = model.generate(cond=labels, sampler=sampler, generator=generator).x
        row = {"setting": label, "c2st_full": suite.full_c2st(x)}
        print({**row, "accuracy": suite.features.accuracy(x, labels)}, flush=True)
    print({"floor": suite.full_c2st_floor()}, flush=True)


def diffusion(args) -> None:
    """A diffusion checkpoint's few-step samplers through diffusers' schedulers (no training)."""
    from flowdiff import evaluate
    from flowdiff.samplers import DiffusersSampler

    for sampler_type in args.samplers:
        for steps in args.steps:
            sampler = DiffusersSampler(sampler_type=sampler_type, steps=steps)
            result = evaluate(
                args.ckpt, sampler=sampler, num_samples=args.num_samples, nll_samples=0
            )
            row = {"setting": f"{sampler_type} x {steps}", "c2st": result.metrics["c2st"]}
            print({**row, "accuracy": result.metrics["cond_accuracy"]}, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="part", required=True)
    post = sub.add_parser("posteriors")
    post.add_argument("--tasks", nargs="+", default=["linear_gaussian", "ring"])
    post.add_argument("--budget", type=int, default=10_000)
    post.add_argument("--draws", type=int, default=10_000, help="timed draws per observation")
    post.add_argument("--samples", type=int, default=1000, help="exact samples (C2ST) each")
    post.add_argument("--calibration", type=int, default=200)
    post.add_argument("--no-npe", action="store_true")
    post.add_argument(
        "--students",
        nargs="+",
        default=["reflow"],
        choices=list(DISTILLERS),
        help="reflow2 (2-reflow) follows reflow",
    )
    dig = sub.add_parser("digits")
    dig.add_argument("teacher")
    dig.add_argument("student")
    dig.add_argument("--distilled", nargs="*", default=[], help="one-step distilled students")
    dig.add_argument("--mean-flow", nargs="*", default=[], help="mean-flow students")
    dig.add_argument("--num-samples", type=int, default=2000)
    jud = sub.add_parser("judge")
    jud.add_argument("teacher")
    jud.add_argument("student")
    jud.add_argument("--distilled", nargs="*", default=[], help="one-step distilled students")
    jud.add_argument("--mean-flow", nargs="*", default=[], help="mean-flow students")
    dif = sub.add_parser("diffusion")
    dif.add_argument("ckpt")
    dif.add_argument("--samplers", nargs="+", default=["dpmsolver++", "UniPCMultistepScheduler"])
    dif.add_argument("--steps", nargs="+", type=int, default=[4, 8])
    dif.add_argument("--num-samples", type=int, default=2000)
    args = parser.parse_args()
    students = getattr(args, "students", [])
    if "reflow2" in students and "reflow" not in students[: students.index("reflow2")]:
        post.error("--students reflow2 trains from the reflow student: list reflow before it")
    torch.set_num_threads(1)
    threadpool_limits(1)
    parts = {"posteriors": posteriors, "digits": digits, "judge": judged, "diffusion": diffusion}
    parts[args.part](args)


if __name__ == "__main__":
    main()
