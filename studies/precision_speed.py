"""Training speed on a GPU in 32-true, 16-mixed and bf16-mixed precision (needs a GPU).

Trains the same model once per precision with ``trainer=single_gpu trainer.precision=<p>`` for
``--epochs`` epochs on the digits and reads the run records: training samples per second
(``metrics.csv``, epochs after the first, which holds CUDA warm-up and any compilation), peak CUDA
memory, the final losses, and the precision the run actually used (``events.jsonl``: a precision
the GPU lacks falls back, e.g. bf16 before Ampere -> 16-mixed). Writes the ``precision_speed``
section of ``docs/benchmarks.md``.

    python -m studies.precision_speed                        # residual MLP (hidden 512)
    python -m studies.precision_speed --network unet         # diffusers UNet2DModel
    python -m studies.precision_speed --batch-size 1024 --epochs 20
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import tempfile
from pathlib import Path

import torch

from studies.common import BENCHMARKS_MD, fit, provenance, publish, quiet

PRECISIONS = ["32-true", "16-mixed", "bf16-mixed"]
NETWORKS = {
    "mlp": [],
    "unet": ["model/network=unet", "model.network.block_out_channels=[64,128]"],
}


def measure(precision: str, args: argparse.Namespace, folder: Path) -> dict[str, object]:
    overrides = [
        "trainer=single_gpu",
        f"trainer.precision={precision}",
        f"max_epochs={args.epochs}",
        f"batch_size={args.batch_size}",
        "callbacks.sample_figures.every_n_epochs=0",
        "trainer.limit_val_batches=1",
        f"trainer.accelerator={args.accelerator}",
        *NETWORKS[args.network],
    ]
    fit(overrides, folder)
    with open(folder / "metrics.csv") as file:
        rows = list(csv.DictReader(file))
    start = json.loads((folder / "events.jsonl").read_text().splitlines()[0])
    speeds = [float(r["samples_per_s"]) for r in rows[1:]] or [float(rows[0]["samples_per_s"])]
    return {
        "requested": precision,
        "used": start["precision"],
        "samples_per_s": statistics.median(speeds),
        "peak_mb": max(float(r["peak_memory_mb"]) for r in rows),
        "train_loss": float(rows[-1]["train_loss"]),
        "val_loss": float(rows[-1]["val_loss"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", choices=sorted(NETWORKS), default="mlp")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--accelerator", default="gpu", help="cpu: a smoke run of this script")
    parser.add_argument("--output", type=Path, default=BENCHMARKS_MD)
    args = parser.parse_args()
    if args.accelerator != "cpu" and not torch.cuda.is_available():
        sys.exit("studies.precision_speed needs a CUDA GPU (trainer=single_gpu).")
    quiet()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for precision in PRECISIONS:
            results.append(measure(precision, args, Path(tmp) / precision))
            print(results[-1], flush=True)
    base = results[0]["samples_per_s"]
    rows = [
        f"| {r['requested']} | {r['used']} | {r['samples_per_s']:.0f} | "
        f"{r['samples_per_s'] / base:.2f}x | {r['peak_mb']:.0f} | {r['train_loss']:.4f} | "
        f"{r['val_loss']:.4f} |"
        for r in results
    ]
    body = "\n".join(
        [
            "## Training speed by precision (GPU)",
            "",
            *provenance(),
            f"- CUDA {torch.version.cuda}",
            "",
            f"Digits, {args.network}, batch {args.batch_size}, {args.epochs} epochs per "
            "precision, `trainer=single_gpu` (gradient clipping 1.0). Samples/s: median over "
            "the epochs after the first, training time only.",
            "",
            "| precision asked | used | samples/s | vs 32-true | peak CUDA MB | train loss "
            "| val loss |",
            "|---|---|---:|---:|---:|---:|---:|",
            *rows,
        ]
    )
    publish(args.output, f"precision_speed_{args.network}", body)


if __name__ == "__main__":
    main()
