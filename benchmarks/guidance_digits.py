"""Class-conditional digits with classifier-free guidance: conditional accuracy per scale.

Trains the default digits model with condition dropout, for flow matching and for diffusion,
through the CLI:

    flowdiff-train model.cond_drop_prob=0.1 ...
    flowdiff-train --config-name=train_hf_diffusion model.cond_drop_prob=0.1 ...

then samples ``--per-class`` digits of each class at each ``guidance_scale`` and scores them as
``benchmarks/digits_quality.py`` does: an SVC trained on the real training split judges whether
each sample shows the class it was conditioned on (scale 0 is the unconditional model).

    python benchmarks/guidance_digits.py            # several minutes on 2 CPU cores
    python benchmarks/guidance_digits.py --tiny --output /tmp/bench.md
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import matplotlib
import torch
from sklearn.svm import SVC

from flowdiff.model.module import GenerativeModule

sys.path.insert(0, str(Path(__file__).parent))
from digits_quality import real_splits
from report import write_section
from runs import REPO, machine, now, run_training, shown_command

matplotlib.use("Agg")
import matplotlib.pyplot as plt

SECTION = "guidance_digits"
#: family -> (preset, extra overrides). Diffusion uses leading timestep spacing: with the cosine
#: schedule and epsilon prediction, trailing spacing diverges (see the quality-vs-NFE section).
PRESETS = {
    "flow matching": ("train", []),
    "diffusion": ("train_hf_diffusion", ["model.path.timestep_spacing=leading"]),
}


def accuracy(model: GenerativeModule, classifier, per_class: int, scale: float, seed: int):
    """Share of samples classified as their label; the samples; NFE; seconds."""
    labels = torch.arange(10).repeat_interleave(per_class)
    start = time.perf_counter()
    out = model.generate(
        cond=labels, guidance_scale=scale, generator=torch.Generator().manual_seed(seed)
    )
    seconds = time.perf_counter() - start
    predicted = classifier.predict(out.x.flatten(1).numpy())
    return float((predicted == labels.numpy()).mean()), out.x, out.nfe, seconds


def figure(results: dict, scales: list[float], path: Path) -> None:
    """Accuracy per scale (left) and one generated digit per class per scale (right)."""
    fig = plt.figure(figsize=(11, 3.6))
    ax = fig.add_subplot(1, 3, 1)
    for family, rows in results.items():
        ax.plot(scales, [row["accuracy"] for row in rows], marker="o", label=family)
    ax.set_xlabel("guidance_scale"), ax.set_ylabel("conditional accuracy"), ax.set_ylim(0, 1.02)
    ax.legend(), ax.grid(alpha=0.3)
    for i, (family, rows) in enumerate(results.items()):
        grid = torch.cat([torch.cat(list(row["first"][:, 0]), dim=1) for row in rows], dim=0)
        ax = fig.add_subplot(1, 3, 2 + i)
        ax.imshow(grid.numpy(), cmap="gray", vmin=0, vmax=16)
        ax.set_yticks([4 + 8 * k for k in range(len(scales))], [f"w={s:g}" for s in scales])
        ax.set_xticks([]), ax.set_title(f"{family}: classes 0-9")
    fig.tight_layout(), fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--per-class", type=int, default=100)
    parser.add_argument("--scales", type=float, nargs="+", default=[0.0, 1.0, 2.0, 4.0])
    parser.add_argument("--drop", type=float, default=0.1, help="model.cond_drop_prob")
    parser.add_argument("--work", type=Path, default=REPO / "outputs" / "bench_guidance")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks.md")
    parser.add_argument("--tiny", action="store_true", help="seconds-long smoke run")
    parser.add_argument("--reuse", action="store_true", help="reuse finished identical runs")
    args = parser.parse_args()
    if args.tiny:
        args.epochs, args.per_class = 1, 2
    (x_train, y_train), (x_val, y_val) = real_splits()
    classifier = SVC(gamma="scale").fit(x_train, y_train)
    real = float((classifier.predict(x_val) == y_val).mean())

    common = [f"model.cond_drop_prob={args.drop}", f"max_epochs={args.epochs}", "seed=0"]
    results, lines = {}, []
    for family, (preset, extra) in PRESETS.items():
        overrides = [*common, *extra]
        ckpt, seconds = run_training(preset, overrides, args.work / preset, args.reuse)
        model = GenerativeModule.load_from_checkpoint(ckpt)
        rows = []
        for scale in args.scales:
            acc, x, nfe, sample_s = accuracy(model, classifier, args.per_class, scale, seed=0)
            rows.append({"accuracy": acc, "first": x[:: args.per_class], "nfe": nfe})
            lines.append(f"| {family} | {scale:g} | {acc:.3f} | {nfe} | {sample_s:.1f} |")
            print(lines[-1], flush=True)
        results[family] = rows
        lines.append(
            f"| {family}: training | `{shown_command(preset, overrides, {})}` | "
            f"{seconds / 60:.1f} min | | |"
        )
    png = args.output.parent / f"{SECTION}.png"
    figure(results, args.scales, png)
    table = [line for line in lines if "training" not in line]
    commands = [
        line.split("|")[2].strip() + f" ({line.split('|')[3].strip()} wall)"
        for line in lines
        if "training" in line
    ]
    body = "\n".join(
        [
            "## Classifier-free guidance on digits: conditional accuracy per guidance_scale",
            "",
            "Generated by `benchmarks/guidance_digits.py`; rerunning it replaces this section.",
            "",
            f"- Date: {now()}; machine: {machine()}",
            *[f"- Training: {c}, plus `trainer=cpu`." for c in commands],
            f"- {args.per_class} samples per class at each scale, seeded noise; an SVC trained on "
            f"the digits training split judges the class. It scores {real:.3f} on the "
            f"{len(y_val)} real held-out digits. Scale 0 is the unconditional (null-condition) "
            "model, scale 1 plain conditional sampling; NFE counts network calls, each on the "
            "doubled batch when the scale is not 1.",
            "",
            "| family | guidance_scale | conditional accuracy | NFE | sampling s |",
            "|---|---:|---:|---:|---:|",
            *table,
            "",
            f"![guidance on digits]({png.name})",
        ]
    )
    write_section(args.output, SECTION, body)
    print(body)


if __name__ == "__main__":
    main()
