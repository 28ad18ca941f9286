"""GPU training throughput and model-FLOPs utilisation (MFU) of DiT at a few sizes.

Every size runs under ``32-true``, ``16-mixed``, ``bf16-mixed`` and ``bf16-mixed`` with
``torch.compile``, once through flowdiff's Trainer and once through a hand-written loop on the
same network, data and batch (see ``throughput.py``). MFU is the network's counted training FLOPs
per second (``torch.utils.flop_counter``: one forward and backward of the batch) over the GPU's
dense bf16 peak (``--peak-tflops``; 989 for H100/H200 SXM). Results go to the ``gpu_throughput``
dated result file (``common.result_file``).

    python -m studies.gpu_throughput                          # on a GPU
    python -m studies.gpu_throughput --tiny --output /tmp/b.md    # CPU smoke run
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

from studies.common import provenance, result_file, write_section
from studies.throughput import Case, case_config, time_flowdiff, time_hand_loop, training_flops

#: (name, hidden, depth, heads) of the DiT sizes, on 32x32x3 images with patch size 2
SIZES = (("S", 384, 12, 6), ("B", 768, 12, 12), ("L", 1024, 24, 16))
#: precision settings by name; ``+compile`` adds ``torch.compile`` of the network
SETTINGS = {
    "32-true": ("32-true", False),
    "16-mixed": ("16-mixed", False),
    "bf16-mixed": ("bf16-mixed", False),
    "bf16-mixed+compile": ("bf16-mixed", True),
}
#: what the CPU smoke run can exercise (no fp16 autocast, no minutes-long compile)
CPU_SETTINGS = ("32-true", "bf16-mixed")


def dit_case(name: str, hidden: int, depth: int, heads: int, batch_size: int) -> Case:
    return Case(
        f"DiT-{name}",
        [
            "model/network=dit",
            "data=arrays",
            # a fixed-length run: data=arrays stops on val/loss, which a throughput run never logs
            "model/lr_scheduler=cosine",
            "~callbacks.early_stopping",
            "data.file={images}",
            "data.cond_key=null",
            "data.shape=[3,32,32]",
            f"model.network.hidden={hidden}",
            f"model.network.depth={depth}",
            f"model.network.heads={heads}",
            "model.network.patch_size=2",
        ],
        batch_size=batch_size,
    )


def measure(case: Case, args: argparse.Namespace, accelerator: str) -> list[dict]:
    rows = []
    device = "cuda" if accelerator == "gpu" else "cpu"
    with tempfile.TemporaryDirectory() as tmp:
        flops = training_flops(case_config(case, "cpu", "32-true", False, Path(tmp)), device)
        for name in args.settings:
            precision, compiled = SETTINGS[name]
            cfg = case_config(case, accelerator, precision, compiled, Path(tmp))
            for side, timer in (("flowdiff", time_flowdiff), ("hand loop", time_hand_loop)):
                timing = timer(cfg, args.warmup, args.steps)
                steps_per_s = timing.samples_per_s / case.batch_size
                mfu = flops * steps_per_s / (args.peak_tflops * 1e12)
                rows.append(
                    dict(
                        case=case,
                        precision=precision,
                        compiled=compiled,
                        side=side,
                        samples_per_s=timing.samples_per_s,
                        mfu=mfu,
                        flops=flops,
                    )
                )
                print(
                    f"{case.name} {precision}{' +compile' * compiled} {side}: "
                    f"{timing.samples_per_s:,.0f} samples/s, MFU {mfu:.1%}",
                    flush=True,
                )
    return rows


def section(rows: list[dict], args: argparse.Namespace) -> str:
    lines = [
        "## GPU training throughput and MFU (DiT, 32x32x3, patch 2)",
        "",
        *provenance(shared=False),
        f"- {args.steps} timed steps after {args.warmup} warm-up steps; MFU against "
        f"{args.peak_tflops:g} TFLOP/s (dense bf16 peak) for every precision.",
        "",
        "| model | batch | GFLOP/step | precision | compile | flowdiff samples/s | "
        "hand loop samples/s | flowdiff / hand | flowdiff MFU |",
        "|---|---:|---:|---|---|---:|---:|---:|---:|",
    ]
    pairs = {}
    for row in rows:
        key = (row["case"].name, row["precision"], row["compiled"])
        pairs.setdefault(key, {})[row["side"]] = row
    for (name, precision, compiled), both in pairs.items():
        flow, hand = both["flowdiff"], both["hand loop"]
        lines.append(
            f"| {name} | {flow['case'].batch_size} | {flow['flops'] / 1e9:,.0f} | {precision} "
            f"| {'yes' if compiled else 'no'} | {flow['samples_per_s']:,.0f} "
            f"| {hand['samples_per_s']:,.0f} "
            f"| {flow['samples_per_s'] / hand['samples_per_s']:.3f} | {flow['mfu']:.1%} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", default=[s[0] for s in SIZES])
    parser.add_argument("--settings", nargs="*", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--section", default="gpu_throughput", help="section of --output")
    parser.add_argument(
        "--overrides", nargs="*", default=[], help="more Hydra overrides, e.g. ~callbacks.nan_guard"
    )
    parser.add_argument("--label", default="", help="appended to the model name in the table")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=15)
    parser.add_argument("--peak-tflops", type=float, default=989.0)
    parser.add_argument("--tiny", action="store_true", help="a 2-block DiT for a few CPU steps")
    parser.add_argument("--output", type=Path, default=result_file("gpu_throughput"))
    args = parser.parse_args()
    accelerator = "gpu" if torch.cuda.is_available() else "cpu"
    if accelerator == "cpu":
        args.settings = [name for name in args.settings if name in CPU_SETTINGS]
    if args.tiny:
        cases = [dit_case("tiny", 64, 2, 2, 8)]
        args.steps, args.warmup = 2, 1
    else:
        cases = [dit_case(*size, args.batch_size) for size in SIZES if size[0] in args.sizes]
    for case in cases:
        case.overrides += args.overrides
        case.name += args.label
    rows = []
    for case in cases:  # written after every size, so a run cut short keeps what it measured
        rows += measure(case, args, accelerator)
        write_section(args.output, args.section, section(rows, args))
    print(f"wrote the {args.section} section of {args.output}")


if __name__ == "__main__":
    main()
