"""NLL of a flow-matching model on 8 gaussians against the generator's own density.

The 8-gaussians generator (``flowdiff.data.toy2d_distributions.eight_gaussians``) has a density in
closed form: an equal mixture of N(c_k, 0.1² I) around the 8 centres. Its NLL on fresh samples is
the entropy of the data, the lowest NLL any model can reach; the gap is KL(p_data || p_model).

    python -m studies.toy2d_likelihood outputs/<run>/checkpoints/last.ckpt \
        --output docs/evaluation.md
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
import torch
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from flowdiff.data.toy2d_distributions import eight_gaussian_centers, sample_toy2d
from flowdiff.metrics.likelihood import log_likelihood
from flowdiff.model.loading import load_model
from studies.common import write_section


def true_log_density(x: torch.Tensor, std: float = 0.1) -> torch.Tensor:
    """``log p(x)`` ``(N,)`` of the 8-gaussians mixture at points ``x`` ``(N, 2)``."""
    centres = eight_gaussian_centers().to(x)
    squared = (x[:, None, :] - centres[None]).pow(2).sum(-1)
    log_normal = -squared / (2 * std**2) - math.log(2 * math.pi * std**2)
    return torch.logsumexp(log_normal, dim=1) - math.log(8)


def grid(extent: float = 3.0, size: int = 60) -> tuple[torch.Tensor, np.ndarray]:
    axis = torch.linspace(-extent, extent, size)
    xx, yy = torch.meshgrid(axis, axis, indexing="xy")
    return torch.stack([xx.flatten(), yy.flatten()], 1), axis.numpy()


def figure(model_grid, true_grid, axis, log_q, log_p) -> Figure:
    """True and model densities on one log colour scale (floored at 1e-4), and log q against
    log p per fresh sample."""
    fig = Figure(figsize=(15, 4.6))
    axes = fig.subplots(1, 3)
    size = len(axis)
    extent = [axis[0], axis[-1], axis[0], axis[-1]]
    densities = [np.exp(v.reshape(size, size)).clip(1e-4) for v in (true_grid, model_grid)]
    norm = LogNorm(vmin=1e-4, vmax=max(d.max() for d in densities))
    for ax, density, title in zip(axes[:2], densities, ("true", "model"), strict=True):
        image = ax.imshow(density, origin="lower", extent=extent, norm=norm)
        ax.set_title(f"{title} density")
    fig.colorbar(image, ax=axes[:2].tolist(), shrink=0.8)
    axes[2].scatter(log_p, log_q, s=3, alpha=0.4)
    low = min(log_p.min(), log_q.min())
    axes[2].plot([low, log_p.max()], [low, log_p.max()], "k--", linewidth=1)
    axes[2].set(xlabel="true log p(x)", ylabel="model log q(x)", title="per fresh sample")
    return fig


def bits(nats: float) -> float:
    return nats / (2 * math.log(2))


def summary(args, log_q: torch.Tensor, log_p: torch.Tensor, seconds: float) -> list[str]:
    """Markdown bullet lines: model and true NLL, their gap, and the correlation."""
    nll_q, nll_p = float(-log_q.mean()), float(-log_p.mean())
    gap = (log_p - log_q).numpy()
    stderr = gap.std() / math.sqrt(len(gap))
    correlation = np.corrcoef(log_q, log_p)[0, 1]
    return [
        f"- Checkpoint: `{args.ckpt}`; {args.samples} fresh samples "
        f"(`sample_toy2d('8gaussians', {args.samples}, seed=10001)`), exact divergence, "
        f"dopri5 (atol = rtol = 1e-5), {seconds:.1f} s.",
        f"- Model NLL: **{nll_q:.4f}** nats per sample ({bits(nll_q):.4f} bits/dim).",
        f"- True NLL (the generator's entropy): **{nll_p:.4f}** nats ({bits(nll_p):.4f} bits/dim).",
        f"- Gap, an estimate of KL(p_data || p_model): {nll_q - nll_p:.4f} ± {stderr:.4f} nats "
        "(mean ± standard error).",
        f"- Correlation of log q and log p over the samples: {correlation:.3f}.",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ckpt", type=Path)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    model = load_model(args.ckpt).model
    x = sample_toy2d("8gaussians", args.samples, seed=10001)
    start = time.perf_counter()
    log_q = log_likelihood(model, x, method="dopri5", atol=1e-5, rtol=1e-5)
    lines = summary(args, log_q, true_log_density(x), time.perf_counter() - start)
    print("\n".join(lines))
    if args.output is None:
        return
    points, axis = grid()
    model_grid = log_likelihood(model, points, method="dopri5", atol=1e-5, rtol=1e-5)
    true_grid = true_log_density(points)
    png = args.output.parent / "evaluation" / "toy2d_likelihood.png"
    png.parent.mkdir(parents=True, exist_ok=True)
    fig = figure(model_grid.numpy(), true_grid.numpy(), axis, log_q.numpy(), true_log_density(x))
    fig.savefig(png, dpi=90)
    command = f"python -m studies.toy2d_likelihood {args.ckpt} --output {args.output}"
    body = ["## NLL on 8 gaussians against the true density", "", f"Command: `{command}`", ""]
    body += [*lines, "", f"![true and model densities](evaluation/{png.name})"]
    write_section(args.output, "toy2d_likelihood", "\n".join(body))


if __name__ == "__main__":
    main()
