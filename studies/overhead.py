"""Framework overhead: flowdiff's training throughput against a hand-written PyTorch loop (CPU).

For each case the two sides run alternately, A B A B ..., for ``--pairs`` pairs, on the same
network, data, batch size, optimizer, precision and number of steps (see ``throughput.py``). The
ratio is flowdiff's samples/s over the hand loop's within each pair; the table reports every
pair's figures and the median ratio. Results go to the ``overhead`` section of
a dated result file (``common.result_file``).

    python -m studies.overhead                        # all cases, 5 pairs each (~15 min)
    python -m studies.overhead --cases toy2d_mlp --pairs 3 --steps 200
    python -m studies.overhead --tiny --output /tmp/bench.md   # seconds-long smoke run
    python -m studies.overhead --cases toy2d_mlp --profile     # where flowdiff's step goes
    taskset -c 1 python -m studies.overhead --job --pairs 4    # the whole default job

``--job`` times the whole default digits job, every default callback on, against a hand-written
loop doing the same work (``whole_job.py``), epochs per second, into the ``overhead_job`` section.

``--profile`` runs the flowdiff side once under ``cProfile`` and prints the Lightning and
flowdiff functions called at least once a step, by cumulative time per step (the profiler
slows Python ~2x: compare rows with each other, not with the timings). It writes nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import tempfile
import time
from pathlib import Path

import torch
from hydra.utils import instantiate

from flowdiff.config.location import config_dir
from studies.common import provenance, result_file, write_section
from studies.throughput import Case, case_config, time_flowdiff, time_hand_loop
from studies.whole_job import job_config, time_flowdiff_job, time_hand_job

CASES = {
    # Small MLP on 2-D points: per-step framework overhead dominates.
    "toy2d_mlp": Case("toy2d_mlp", ["experiment=toy2d"], batch_size=256),
    # The digits U-Net (diffusers UNet2DModel), class-conditional.
    "digits_unet": Case("digits_unet", ["model/network=unet"], batch_size=128),
    # A small DiT on random 32x32 RGB images through data=arrays.
    "dit32": Case(
        "dit32",
        [
            "model/network=dit",
            "data=arrays",
            "data.file={images}",
            "data.cond_key=null",
            "data.shape=[3,32,32]",
            "model.network.patch_size=2",
            "model.network.hidden=128",
            "model.network.depth=2",
            "model.network.heads=2",
            # the hand loop's fixed-length run, not data=arrays' early stopping and plateau LR
            "model/lr_scheduler=cosine",
            "~callbacks.early_stopping",
        ],
        batch_size=64,
    ),
    # The posterior network (data=arrays' mlp_small, 128 x 3) on 10-D theta given 10-D x, with
    # the EMA on both sides, as PosteriorEstimator trains it: the smallest step, the most overhead.
    "posterior_mlp": Case(
        "posterior_mlp",
        [
            "data=arrays",
            "data.file={images}",
            "data.shape=[10]",
            "data.cond_shape=[10]",
            "model/lr_scheduler=cosine",
            "~callbacks.early_stopping",
        ],
        batch_size=256,
        image_shape=(10,),
        num_images=10_000,
        cond_shape=(10,),
        ema=True,
    ),
}


#: (warm-up steps, timed steps) per run: several seconds of timed work, so that one step's
#: jitter does not count (a digits U-Net or DiT step takes most of a second on one CPU thread)
STEPS = {
    "toy2d_mlp": (20, 300),
    "digits_unet": (3, 30),
    "dit32": (3, 30),
    "posterior_mlp": (20, 500),
}


def run_length(case: Case, args: argparse.Namespace) -> tuple[int, int]:
    """(warm-up steps, timed steps) of one run: the case's own, or ``--warmup``/``--steps``."""
    warmup, steps = STEPS[case.name]
    return args.warmup or warmup, args.steps or steps


def available(case: Case) -> bool:
    """Whether every config group option the case names exists in ``configs/``."""
    for override in case.overrides:
        key, _, value = override.partition("=")
        is_group = "/" in key or key in ("data", "experiment")
        if is_group and not (Path(config_dir()) / key / f"{value}.yaml").is_file():
            return False
    return True


def run_case(case: Case, args: argparse.Namespace) -> dict:
    """Alternate flowdiff and the hand loop; returns per-pair figures and the median ratio."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = case_config(case, "cpu", "32-true", False, Path(tmp))
        pairs = []
        warmup, steps = run_length(case, args)
        for i in range(args.pairs):
            flow = time_flowdiff(cfg, warmup, steps)
            hand = time_hand_loop(cfg, warmup, steps)
            pairs.append((flow.samples_per_s, hand.samples_per_s))
            ratio = flow.samples_per_s / hand.samples_per_s
            print(
                f"{case.name} pair {i + 1}: flowdiff {flow.samples_per_s:,.0f}/s, "
                f"hand {hand.samples_per_s:,.0f}/s, ratio {ratio:.3f}",
                flush=True,
            )
        # what flowdiff's default fused AdamW saves against torch's default kernels, per step
        default_ms, fused_ms = optimizer_step_ms(cfg, False), optimizer_step_ms(cfg, True)
    ratios = [f / h for f, h in pairs]
    # time per step that flowdiff adds, in ms: batch / flowdiff rate - batch / hand rate
    extra = [1e3 * case.batch_size * (1 / f - 1 / h) for f, h in pairs]
    return {
        "case": case,
        "warmup": warmup,
        "steps": steps,
        "pairs": pairs,
        "median": statistics.median(ratios),
        "extra_ms": statistics.median(extra),
        "hand_ms": statistics.median(1e3 * case.batch_size / h for _, h in pairs),
        "adamw_ms": (default_ms, fused_ms),
    }


def optimizer_step_ms(cfg, fused: bool, steps: int = 50) -> float:
    """Milliseconds per AdamW step on the case's network, with random gradients."""
    network = instantiate(cfg.model.network)
    for parameter in network.parameters():
        parameter.grad = torch.randn_like(parameter)
    optimizer = torch.optim.AdamW(network.parameters(), lr=1e-4, fused=fused)
    for _ in range(5):
        optimizer.step()
    start = time.perf_counter()
    for _ in range(steps):
        optimizer.step()
    return 1e3 * (time.perf_counter() - start) / steps


def profile_case(case: Case, args: argparse.Namespace, rows: int = 80) -> None:
    """Print where one flowdiff run of ``case`` spends its time, per step."""
    warmup, steps = run_length(case, args)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = case_config(case, "cpu", "32-true", False, Path(tmp))
        profiler = cProfile.Profile()
        profiler.enable()
        time_flowdiff(cfg, warmup, steps)
        profiler.disable()
    print(
        f"\n{case.name}: {warmup + steps} steps under cProfile; per-step functions by "
        "cumulative time:"
    )
    stats = pstats.Stats(profiler)
    entries = sorted(
        (
            (cumulative / (warmup + steps), calls, f"{Path(file).name}:{line}({name})")
            for (file, line, name), (_, calls, _, cumulative, _) in stats.stats.items()
            if ("lightning" in file or "flowdiff" in file) and calls >= warmup + steps
        ),
        reverse=True,
    )
    for per_step, calls, where in entries[:rows]:
        print(f"{1e3 * per_step:9.3f} ms  {calls:7d} calls  {where}")


def section(results: list[dict], args: argparse.Namespace) -> str:
    lines = [
        "## Framework overhead against a hand-written loop (CPU)",
        "",
        *provenance(),
        f"- 32-bit, {torch.get_num_threads()} torch thread(s); runs alternate flowdiff, hand, "
        "flowdiff, ...; each run times `steps` steps after `warm-up` steps, in the process's "
        "CPU seconds (`time.process_time`; wall seconds before 2026-12-07).",
        "- flowdiff: `flowdiff.training.build(cfg)` from the composed config: module, datamodule, "
        "Trainer with the LR schedule, TensorBoard logging and the default callbacks (progress "
        "bar, LR monitor, NaN guard, run records, RNG state, exception checkpoint); validation, "
        "checkpoints, EMA and figures off (posterior_mlp keeps the EMA: flowdiff's callback "
        "against one `lerp_` per parameter in the hand loop). Hand loop: the same network, "
        "DataLoader and fused AdamW, OT flow-matching arithmetic written out.",
        "",
        "| case | batch | warm-up + steps | flowdiff samples/s (per pair) "
        "| hand samples/s (per pair) | ratio (per pair) | median ratio "
        "| hand ms/step | flowdiff's extra ms/step |",
        "|---|---:|---:|---|---|---|---:|---:|---:|",
    ]
    for r in results:
        flow = ", ".join(f"{f:,.0f}" for f, _ in r["pairs"])
        hand = ", ".join(f"{h:,.0f}" for _, h in r["pairs"])
        ratios = ", ".join(f"{f / h:.3f}" for f, h in r["pairs"])
        lines.append(
            f"| {r['case'].name} | {r['case'].batch_size} | {r['warmup']} + {r['steps']} "
            f"| {flow} | {hand} | {ratios} | **{r['median']:.3f}** | {r['hand_ms']:.1f} "
            f"| {r['extra_ms']:.2f} |"
        )
    lines += [
        "",
        "Both sides above run the same fused AdamW (flowdiff's default). What fusing saves "
        "against torch's default AdamW (for-loop kernels on the CPU), per optimizer step:",
        "",
        "| case | AdamW default ms/step | AdamW fused ms/step | saved, % of a hand-loop step |",
        "|---|---:|---:|---:|",
    ]
    for r in results:
        default_ms, fused_ms = r["adamw_ms"]
        saved = 100 * (default_ms - fused_ms) / r["hand_ms"]
        lines.append(f"| {r['case'].name} | {default_ms:.2f} | {fused_ms:.2f} | {saved:.1f}% |")
    return "\n".join(lines)


def run_job(args: argparse.Namespace) -> dict:
    """The whole default job and the hand loop (see ``whole_job.py``), alternating."""
    pairs = []
    for i in range(args.pairs):
        with tempfile.TemporaryDirectory() as tmp:
            cfg = job_config(Path(tmp) / "flowdiff", args.job_epochs, [])
            flow = time_flowdiff_job(cfg, first=1)
            hand = time_hand_job(cfg, Path(tmp) / "hand", first=1)
        pairs.append((flow, hand))
        print(
            f"digits_job pair {i + 1}: flowdiff {flow.epochs_per_s:.3f} epochs/s "
            f"({flow.epochs_per_cpu_s:.3f} per CPU s), hand {hand.epochs_per_s:.3f} "
            f"({hand.epochs_per_cpu_s:.3f}), ratio {flow.epochs_per_s / hand.epochs_per_s:.3f} "
            f"(CPU {flow.epochs_per_cpu_s / hand.epochs_per_cpu_s:.3f})",
            flush=True,
        )
    return {"pairs": pairs, "epochs": args.job_epochs}


def job_section(result: dict) -> str:
    pairs = result["pairs"]
    wall = [f.epochs_per_s / h.epochs_per_s for f, h in pairs]
    cpu = [f.epochs_per_cpu_s / h.epochs_per_cpu_s for f, h in pairs]
    lines = [
        "## The whole default job against a hand-written loop (CPU)",
        "",
        *provenance(),
        f"- {torch.get_num_threads()} torch thread(s); runs alternate flowdiff, hand, flowdiff, "
        f"...; each run is the default digits job for {result['epochs']} epochs and times "
        f"epochs 2-{result['epochs'] - 1} from the start of one epoch to the start of the "
        "next (training, validation, checkpoints, records): see `studies/whole_job.py`.",
        "",
        "| pair | flowdiff epochs/s | hand epochs/s | ratio | flowdiff epochs/CPU s "
        "| hand epochs/CPU s | CPU ratio | flowdiff fit s | hand fit s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for i, (f, h) in enumerate(pairs):
        lines.append(
            f"| {i + 1} | {f.epochs_per_s:.3f} | {h.epochs_per_s:.3f} | {wall[i]:.3f} "
            f"| {f.epochs_per_cpu_s:.3f} | {h.epochs_per_cpu_s:.3f} | {cpu[i]:.3f} "
            f"| {f.fit_seconds:.1f} | {h.fit_seconds:.1f} |"
        )
    lines += [
        "",
        f"Median ratio {statistics.median(wall):.3f} (range {min(wall):.3f}-{max(wall):.3f}) "
        f"by wall clock, {statistics.median(cpu):.3f} ({min(cpu):.3f}-{max(cpu):.3f}) by CPU "
        "time.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES))
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--steps", type=int, help="timed steps per run (default: per case)")
    parser.add_argument("--warmup", type=int, help="warm-up steps per run (default: per case)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tiny", action="store_true", help="1 pair of 5 steps: a smoke run")
    parser.add_argument(
        "--profile", action="store_true", help="print where flowdiff's step goes; no timing"
    )
    parser.add_argument(
        "--job",
        action="store_true",
        help="time the whole default digits job against the hand loop (section overhead_job)",
    )
    parser.add_argument("--job-epochs", type=int, default=8, help="epochs of each --job run")
    parser.add_argument("--output", type=Path, default=result_file("overhead"))
    args = parser.parse_args()
    if args.tiny:
        args.pairs, args.steps, args.warmup, args.job_epochs = 1, 5, 2, 3
    torch.set_num_threads(args.threads)
    if args.job:
        write_section(args.output, "overhead_job", job_section(run_job(args)))
        print(f"wrote the overhead_job section of {args.output}")
        return
    if args.profile:
        for name in args.cases:
            profile_case(CASES[name], args)
        return
    results = []
    for name in args.cases:
        if not available(CASES[name]):
            print(f"{name}: skipped, its configs are not in this checkout", flush=True)
            continue
        results.append(run_case(CASES[name], args))
    write_section(args.output, "overhead", section(results, args))
    print(f"wrote the overhead section of {args.output}")


if __name__ == "__main__":
    main()
