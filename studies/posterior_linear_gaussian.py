"""Posterior estimation with a known answer: a linear-Gaussian simulator, with and without guidance.

Simulates ``--pairs`` (parameters, observation) pairs with
:class:`flowdiff.sbi.tasks.linear_gaussian.LinearGaussian` (3 parameters, 5 observables),
trains the token transformer on them through the CLI with condition dropout:

    flowdiff-train --config-name=train_fb_flow_matching data=arrays data.file=<pairs.npz> \
        data.shape=[3] data.cond_shape=[5] model/network=tokens model.cond_drop_prob=0.1 ...

then, for several fresh observations, draws posterior samples at each guidance scale and compares
their mean and covariance with the exact Gaussian posterior. The floor is the same error for as
many exact posterior samples (sampling noise alone).

    python -m studies.posterior_linear_gaussian          # a few minutes on 2 CPU cores
    python -m studies.posterior_linear_gaussian --tiny --output /tmp/bench.md
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import torch

from flowdiff.data import ArraysDataModule
from flowdiff.model.module import GenerativeModule
from flowdiff.sbi.tasks.linear_gaussian import LinearGaussian, write_pairs
from studies import common

matplotlib.use("Agg")
import matplotlib.pyplot as plt

SECTION = "posterior_linear_gaussian"


def errors(samples: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> tuple[float, float]:
    """``|mean_hat - mean|_2`` and ``|cov_hat - cov|_F / |cov|_F`` of ``samples`` ``(n, d)``."""
    mean_error = float(np.linalg.norm(samples.mean(0) - mean))
    cov_error = float(np.linalg.norm(np.cov(samples.T) - cov) / np.linalg.norm(cov))
    return mean_error, cov_error


def floor(mean, cov, count: int, rng: np.random.Generator, repeats: int = 20):
    """Mean errors of ``count`` exact posterior samples, over ``repeats`` draws."""
    draws = [errors(rng.multivariate_normal(mean, cov, count), mean, cov) for _ in range(repeats)]
    return tuple(np.mean(draws, axis=0))


def figure(samples: dict, mean, cov, table: dict, path: Path) -> None:
    """Samples of parameters 0 and 1 for the first observation with the exact 1- and 2-sigma
    ellipses (left), and errors per guidance scale averaged over observations (right)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for scale, points in samples.items():
        left.scatter(points[:, 0], points[:, 1], s=2, alpha=0.3, label=f"guidance_scale={scale:g}")
    values, vectors = np.linalg.eigh(cov[:2, :2])
    angle = np.linspace(0, 2 * np.pi, 200)
    for k in (1, 2):
        ring = vectors @ (np.sqrt(values)[:, None] * k * np.stack([np.cos(angle), np.sin(angle)]))
        left.plot(mean[0] + ring[0], mean[1] + ring[1], "k", lw=1)
    left.set_xlabel("theta_0"), left.set_ylabel("theta_1"), left.legend(markerscale=5)
    left.set_title("observation 0: samples vs exact posterior (1, 2 sigma)")
    scales = sorted(table)
    right.plot(scales, [table[s][0] for s in scales], "o-", label="mean error |dmu|")
    right.plot(scales, [table[s][1] for s in scales], "s-", label="relative cov error")
    right.set_xlabel("guidance_scale"), right.legend(), right.grid(alpha=0.3)
    right.set_title("averaged over observations")
    common.save_figure(fig, path)


def main() -> None:
    parser = common.arguments(__doc__, work="bench_posterior", tiny="seconds long")
    parser.add_argument("--pairs", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--observations", type=int, default=5)
    parser.add_argument("--samples", type=int, default=2000, help="posterior samples each")
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 1.5, 2.0, 3.0])
    args = parser.parse_args()
    if args.tiny:
        args.pairs, args.epochs, args.observations, args.samples = 512, 1, 2, 100
    simulator = LinearGaussian.random(dim_theta=3, dim_x=5, seed=0)
    pairs = write_pairs(args.work / "pairs.npz", simulator, args.pairs, seed=0)
    overrides = [
        "data=arrays",
        f"data.file={pairs}",
        "data.shape=[3]",
        "data.cond_shape=[5]",
        "model/network=tokens",
        "model.network.hidden=64",
        "model.network.depth=3",
        "model.cond_drop_prob=0.1",
        "batch_size=256",
        "base_lr=1e-3",
        f"max_epochs={args.epochs}",
        "seed=0",
    ]
    ckpt, seconds = common.run_training("train_fb_flow_matching", overrides, args.work / "run")
    model = GenerativeModule.load_from_checkpoint(ckpt)
    datamodule = ArraysDataModule(file=str(pairs), shape=[3], cond_shape=[5], val_fraction=0.1)
    datamodule.setup("fit")

    rng = np.random.default_rng(1)
    _, observations = simulator.simulate(args.observations, rng)
    rows, per_scale, first = [], {s: [] for s in args.scales}, {}
    floors = []
    for i, x_o in enumerate(observations):
        mean, cov = simulator.posterior(x_o)
        floors.append(floor(mean, cov, args.samples, rng))
        cond = datamodule.cond_normalizer.normalize(torch.as_tensor(x_o, dtype=torch.float32))
        cond = cond.expand(args.samples, -1)
        for scale in args.scales:
            generator = torch.Generator().manual_seed(i)
            theta = model.sample(cond=cond, guidance_scale=scale, generator=generator).numpy()
            mean_error, cov_error = errors(theta.astype(np.float64), mean, cov)
            per_scale[scale].append((mean_error, cov_error))
            rows.append(f"| {i} | {scale:g} | {mean_error:.3f} | {cov_error:.3f} |")
            if i == 0:
                first[scale] = theta
        rows.append(f"| {i} | exact samples (floor) | {floors[-1][0]:.3f} | {floors[-1][1]:.3f} |")
    table = {s: tuple(np.mean(v, axis=0)) for s, v in per_scale.items()}
    png = args.output.parent / f"{SECTION}.png"
    mean0, cov0 = simulator.posterior(observations[0])
    figure(first, mean0, cov0, table, png)
    floor_mean = np.mean(floors, axis=0)
    summary = [f"| {s:g} | {table[s][0]:.3f} | {table[s][1]:.3f} |" for s in args.scales]
    summary.append(f"| exact samples (floor) | {floor_mean[0]:.3f} | {floor_mean[1]:.3f} |")
    command = common.shown_command("train_fb_flow_matching", overrides, {pairs: "<pairs.npz>"})
    body = "\n".join(
        [
            "## Posterior estimation on a linear-Gaussian simulator (token transformer)",
            "",
            "Rerunning the command below replaces this section.",
            "",
            *common.provenance(),
            f"- Simulator: `LinearGaussian.random(dim_theta=3, dim_x=5, seed=0)`: prior N(0, I), "
            f"x = A theta + b + noise; {args.pairs} simulated pairs saved as `x` (parameters) and "
            "`cond` (observations), read by `data=arrays` (observations standardised on the "
            "training split).",
            f"- Command: `{command}` (plus `trainer=cpu`); {seconds / 60:.1f} min wall.",
            f"- {args.observations} fresh observations; {args.samples} posterior samples each per "
            "guidance scale (midpoint, 20 steps). Mean error: Euclidean distance between sample "
            "mean and exact posterior mean; covariance error: Frobenius norm of the difference "
            "relative to the exact covariance's. Floor: the same errors for as many exact "
            "posterior samples (mean of 20 draws).",
            "",
            "Averaged over observations:",
            "",
            "| guidance_scale | mean error | relative covariance error |",
            "|---|---:|---:|",
            *summary,
            "",
            f"![posterior]({png.name})",
            "",
            "<details><summary>Per observation</summary>",
            "",
            "| observation | guidance_scale | mean error | relative covariance error |",
            "|---|---|---:|---:|",
            *rows,
            "",
            "</details>",
        ]
    )
    common.publish(args.output, SECTION, body)


if __name__ == "__main__":
    main()
