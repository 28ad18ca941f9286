"""DDP on the CPU: the multi_gpu preset over 2 gloo processes, then a single-process resume.

Runs ``flowdiff-train trainer=multi_gpu trainer.accelerator=cpu trainer.devices=2`` on the digits
(MLP hidden 128) as a user would (a subprocess; Lightning starts the second process itself), then
resumes its ``last.ckpt`` with ``trainer=cpu`` in one process for more epochs. Reports the
per-epoch records (``metrics.csv``) and the run's events. Writes the ``ddp_cpu`` section of
``docs/benchmarks.md``.

    python -m studies.ddp_cpu
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
from pathlib import Path

from studies.common import BENCHMARKS_MD, provenance, publish, run_cli, train_command

COMMON = [
    "model.network.hidden=128",
    "model/lr_scheduler=constant",
    "model.lr_scheduler.warmup_steps=10",
    "trainer.limit_val_batches=2",
    "callbacks.progress_bar=null",
    "callbacks.sample_figures.every_n_epochs=0",
    "sampling_steps=4",
    "run_name=ddp",
]


def flowdiff_train(cwd: Path, *overrides: str) -> tuple[list[str], float]:
    """Run ``flowdiff-train`` in ``cwd``; returns the command as typed and its wall time."""
    seconds = run_cli(train_command("train", [*COMMON, *overrides]), cwd=cwd)
    return ["flowdiff-train", *COMMON, *overrides], seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--more", type=int, default=2, help="epochs added by the resume")
    parser.add_argument("--output", type=Path, default=BENCHMARKS_MD)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        ddp = ["trainer=multi_gpu", "trainer.accelerator=cpu", "trainer.devices=2"]
        first, ddp_s = flowdiff_train(cwd, *ddp, f"max_epochs={args.epochs}")
        run = cwd / "outputs" / "ddp"
        resume = ["trainer=cpu", f"max_epochs={args.epochs + args.more}"]
        second, resume_s = flowdiff_train(
            cwd, *resume, "ckpt_path=outputs/ddp/checkpoints/last.ckpt"
        )
        with open(run / "metrics.csv") as file:
            rows = list(csv.DictReader(file))
        events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    table = [
        f"| {r['epoch']} | {r['step']} | {'2 (DDP)' if int(r['epoch']) < args.epochs else '1'} | "
        f"{float(r['train_loss']):.4f} | {float(r['val_loss']):.4f} | {r['samples_per_s']} |"
        for r in rows
    ]
    starts = [e for e in events if e["event"] == "start"]
    ends = [e for e in events if e["event"] == "end"]
    body = "\n".join(
        [
            "## DDP on the CPU",
            "",
            *provenance(),
            "",
            f"1. `{' '.join(first)}` ({ddp_s:.0f} s wall, two gloo processes; the preset's "
            "16-mixed fell back to 32-true and sync_batchnorm was turned off, as on any CPU).",
            f"2. `{' '.join(second)}` ({resume_s:.0f} s), one process, same run folder.",
            "",
            f"Events: start world_size={starts[0]['world_size']} "
            f"precision={starts[0]['precision']} -> end at step {ends[0]['step']} "
            f"({ends[0]['reason']}); start world_size={starts[1]['world_size']} at step "
            f"{starts[1]['step']} resumed from `last.ckpt` -> end at step {ends[1]['step']} "
            f"({ends[1]['reason']}).",
            "",
            "Per-epoch records (`metrics.csv`; train loss is rank 0's mean, val loss is averaged "
            "over ranks, and is measured with the EMA weights, which at 0.999 still lie close to "
            "the initial ones after 60 steps, hence its slow fall):",
            "",
            "| epoch | step | processes | train loss | val loss | samples/s |",
            "|---:|---:|---:|---:|---:|---:|",
            *table,
            "",
            "Each DDP rank sees half the batches of an epoch, so a DDP epoch is half the optimizer "
            "steps of a single-process one (effective batch = batch_size x devices).",
        ]
    )
    publish(args.output, "ddp_cpu", body)


if __name__ == "__main__":
    main()
