"""Class-conditional digits with classifier-free guidance: conditional accuracy per scale.

Trains the default digits model with condition dropout, for flow matching and for diffusion,
through the CLI:

    flowdiff-train model.cond_drop_prob=0.1 ...
    flowdiff-train --config-name=train_hf_diffusion model.cond_drop_prob=0.1 ...

then samples ``--per-class`` digits of each class at each ``guidance_scale`` and scores them as
``studies/digits_quality.py`` does: an SVC trained on the real training split judges whether
each sample shows the class it was conditioned on (scale 0 is the unconditional model).

    python -m studies.guidance_digits            # several minutes on 2 CPU cores
    python -m studies.guidance_digits --tiny --output /tmp/bench.md
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import torch

from flowdiff.model.module import GenerativeModule
from studies import common
from studies.digits_quality import conditional_accuracy, digit_judge

matplotlib.use("Agg")
import matplotlib.pyplot as plt

SECTION = "guidance_digits"
#: family -> (preset, extra overrides). Diffusion uses leading timestep spacing: with the cosine
#: schedule and epsilon prediction, trailing spacing diverges (see the quality-vs-NFE section).
PRESETS = {
    "flow matching": ("train", []),
    "diffusion": ("train_hf_diffusion", ["model.path.timestep_spacing=leading"]),
}


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
    common.save_figure(fig, path)


def main() -> None:
    parser = common.arguments(__doc__, work="bench_guidance", tiny="seconds long")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--per-class", type=int, default=100)
    parser.add_argument("--scales", type=float, nargs="+", default=[0.0, 1.0, 2.0, 4.0])
    parser.add_argument("--drop", type=float, default=0.1, help="model.cond_drop_prob")
    parser.add_argument("--reuse", action="store_true", help="reuse finished identical runs")
    args = parser.parse_args()
    if args.tiny:
        args.epochs, args.per_class = 1, 2
    classifier, real, held_out = digit_judge()

    shared = [f"model.cond_drop_prob={args.drop}", f"max_epochs={args.epochs}", "seed=0"]
    results, lines = {}, []
    for family, (preset, extra) in PRESETS.items():
        overrides = [*shared, *extra]
        ckpt, seconds = common.run_training(preset, overrides, args.work / preset, args.reuse)
        model = GenerativeModule.load_from_checkpoint(ckpt)
        rows = []
        for scale in args.scales:
            acc, out, sample_s = conditional_accuracy(
                classifier, model, args.per_class, seed=0, guidance_scale=scale
            )
            rows.append({"accuracy": acc, "first": out.x[:: args.per_class], "nfe": out.nfe})
            lines.append(f"| {family} | {scale:g} | {acc:.3f} | {out.nfe} | {sample_s:.1f} |")
            print(lines[-1], flush=True)
        results[family] = rows
        lines.append(
            f"| {family}: training | `{common.shown_command(preset, overrides, {})}` | "
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
            "Rerunning the command below replaces this section.",
            "",
            *common.provenance(),
            *[f"- Training: {c}, plus `trainer=cpu`." for c in commands],
            f"- {args.per_class} samples per class at each scale, seeded noise; an SVC trained on "
            f"the digits training split judges the class. It scores {real:.3f} on the "
            f"{held_out} real held-out digits. Scale 0 is the unconditional (null-condition) "
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
    common.publish(args.output, SECTION, body)


if __name__ == "__main__":
    main()
