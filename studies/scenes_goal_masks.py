"""Goal masks given context masks on synthetic scenes in the npz scenes format (``data=npz``).

Writes ``--scenes`` scenes (:mod:`flowdiff.data.demo_scenes`: walls, boxes, a target box and
the robot's goal; the true goal mask is the target box centred on the robot's goal, +-2 px), then
trains through the CLI, as a user would:

    flowdiff-train --config-name=train_fb_flow_matching data=npz data.data_dir=<folder> ...

and reports the validation loss per epoch, a grid of context / generated / true masks, and the
mean IoU of generated against true goal masks on the validation scenes (masks thresholded at
half height), next to trivial baselines that ignore where the goal is.

    python -m studies.scenes_goal_masks                 # a few minutes on 2 CPU cores
    python -m studies.scenes_goal_masks --tiny --output /tmp/bench.md
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import torch

from flowdiff.data import NpzScenesDataModule
from flowdiff.data.demo_scenes import write_scenes
from flowdiff.model.module import GenerativeModule
from studies import common

matplotlib.use("Agg")
import matplotlib.pyplot as plt

SECTION = "scenes_goal_masks"
CONTEXT_NAMES = ["robot", "robot goal", "movable", "static", "target object"]


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union per mask of boolean ``(N, H, W)`` arrays (0 when both empty)."""
    inter = (a & b).sum((1, 2))
    union = (a | b).sum((1, 2))
    return np.where(union > 0, inter / np.maximum(union, 1), 0.0)


def baselines(datamodule: NpzScenesDataModule, truth: np.ndarray) -> dict[str, float]:
    """Mean IoU of masks that ignore the robot's goal: the target box where it stands, the
    mean training goal mask at its best threshold (chosen on the training split), no mask."""

    def pixels(x):
        return datamodule.normalizer.denormalize(x)[:, 0].numpy()

    context = datamodule.cond_normalizer.denormalize(datamodule.val_set.cond).numpy()
    train_goals = pixels(datamodule.train_set.x)
    mean_goal = train_goals.mean(0)
    thresholds = np.linspace(0.02, 0.5, 25)
    train_true = train_goals > 0.5
    scores = [
        iou(np.broadcast_to(mean_goal > h, train_true.shape), train_true).mean() for h in thresholds
    ]
    best = thresholds[int(np.argmax(scores))]
    return {
        "target box left in place": float(iou(context[:, 4] > 0.5, truth).mean()),
        f"mean training goal mask (> {best:.2f})": float(
            iou(np.broadcast_to(mean_goal > best, truth.shape), truth).mean()
        ),
        "empty mask": 0.0,
    }


def grid_figure(context, generated, truth, path: Path, rows: int = 6) -> None:
    rows = min(rows, len(truth))
    columns = [*CONTEXT_NAMES, "generated", "generated > 0.5", "true goal"]
    fig, axes = plt.subplots(
        rows, len(columns), figsize=(1.6 * len(columns), 1.6 * rows), squeeze=False
    )
    for r in range(rows):
        panels = [*context[r], generated[r], generated[r] > 0.5, truth[r]]
        for c, panel in enumerate(panels):
            axes[r, c].imshow(panel, cmap="gray", vmin=0, vmax=1)
            axes[r, c].set_xticks([]), axes[r, c].set_yticks([])
            if r == 0:
                axes[r, c].set_title(columns[c], fontsize=8)
    common.save_figure(fig, path)


def loss_figure(run_dir: Path, path: Path) -> list[tuple[int, float]]:
    val = common.scalars(run_dir, "val/loss")
    train = common.scalars(run_dir, "train/loss_epoch")
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(range(1, len(train) + 1), [v for _, v in train], label="train/loss (epoch mean)")
    ax.plot(range(1, len(val) + 1), [v for _, v in val], label="val/loss")
    ax.set_xlabel("epoch"), ax.set_ylabel("flow-matching loss"), ax.set_yscale("log")
    ax.legend()
    common.save_figure(fig, path)
    return val


def main() -> None:
    parser = common.arguments(__doc__, work="bench_scenes", tiny="seconds long")
    parser.add_argument("--scenes", type=int, default=400)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--draws", type=int, default=4, help="generated masks per val scene")
    args = parser.parse_args()
    if args.tiny:
        args.scenes, args.epochs, args.draws, args.image_size = 24, 1, 1, 16
    folder = args.work / "scenes"
    write_scenes(folder, args.scenes, size=64, seed=0)
    overrides = [
        "data=npz",
        f"data.data_dir={folder}",
        f"data.image_size={args.image_size}",
        "model/network=dit_debug",
        "model.network.depth=4",
        "model.network.heads=4",
        "batch_size=32",
        "base_lr=5e-4",
        f"max_epochs={args.epochs}",
        "seed=0",
    ]
    run_dir = args.work / "run"
    ckpt, seconds = common.run_training("train_fb_flow_matching", overrides, run_dir)

    datamodule = NpzScenesDataModule(
        data_dir=str(folder), image_size=args.image_size, val_fraction=0.1, seed=0, batch_size=32
    )
    datamodule.setup("fit")
    model = GenerativeModule.load_from_checkpoint(ckpt)
    cond = datamodule.val_set.cond.repeat(args.draws, 1, 1, 1)
    generated = model.sample(cond=cond, generator=torch.Generator().manual_seed(0))[:, 0].numpy()
    truth_pixels = datamodule.normalizer.denormalize(datamodule.val_set.x)[:, 0].numpy()
    truth = np.tile(truth_pixels > 0.5, (args.draws, 1, 1))
    scores = iou(generated > 0.5, truth)
    base = baselines(datamodule, truth_pixels > 0.5)

    docs = args.output.parent
    grid_png, loss_png = docs / f"{SECTION}.png", docs / f"{SECTION}_loss.png"
    context = datamodule.cond_normalizer.denormalize(datamodule.val_set.cond).numpy()
    grid_figure(context, generated, truth_pixels, grid_png)
    val = loss_figure(run_dir, loss_png)

    n_val = len(datamodule.val_set)
    command = common.shown_command("train_fb_flow_matching", overrides, {folder: "<folder>"})
    rows = [
        f"| DiT, flow matching (midpoint, 20 steps) | **{scores.mean():.3f}** "
        f"(median {np.median(scores):.3f}) |"
    ]
    rows += [f"| baseline: {name} | {value:.3f} |" for name, value in base.items()]
    body = "\n".join(
        [
            "## Goal masks on synthetic npz scenes (DiT with image context)",
            "",
            "Rerunning the command below replaces this section.",
            "",
            *common.provenance(),
            f"- Data: {args.scenes} scenes of 64x64 masks written by "
            f"`flowdiff.data.demo_scenes` (seed 0), read by `data=npz` at "
            f"`image_size={args.image_size}`; {n_val} validation "
            "scenes (`val_fraction=0.1`, split seed 0).",
            f"- Command: `{command}` (plus `trainer=cpu`); {seconds / 60:.1f} min wall.",
            "- Network: DiT, 128 hidden, 4 blocks, 4 heads, patch 4; input 5 context + 2 "
            "coordinate + 1 noisy = 8 channels.",
            "",
            f"Validation loss per epoch: first {val[0][1]:.4f}, best {min(v for _, v in val):.4f}, "
            f"last {val[-1][1]:.4f} ({len(val)} epochs).",
            "",
            f"![loss]({loss_png.name})",
            "",
            f"Mean IoU over {n_val} validation scenes x {args.draws} draws ({len(scores)} masks), "
            "generated and true masks thresholded at 0.5:",
            "",
            "| masks | mean IoU |",
            "|---|---:|",
            *rows,
            "",
            "Rows: validation scenes; columns: the five context masks, the generated mask, it "
            "thresholded, and the true goal mask.",
            "",
            f"![scenes]({grid_png.name})",
        ]
    )
    common.publish(args.output, SECTION, body)


if __name__ == "__main__":
    main()
