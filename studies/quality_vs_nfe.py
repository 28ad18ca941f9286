"""Sample quality against network evaluations (NFE) for flow matching and diffusion on toy 2-D data.

Trains one flow-matching model (condot path) and one diffusion model (epsilon prediction, cosine
schedule) on the same toy2d data through the Python API, then samples each with a grid of samplers
and step counts. Every setting draws ``--num-samples`` samples from the same seeded noise and is
scored against *fresh* samples of the data generator (never the training data):

* W2: exact 2-Wasserstein distance (POT ``ot.emd2``, squared Euclidean cost, then sqrt);
* sliced W: sliced 2-Wasserstein distance (``ot.sliced_wasserstein_distance``, fixed projections).

The noise floor is the same two distances between the reference and other independent fresh
samples of the same size (several pairs, mean and range): differences below it are sampling noise.

The diffusion path uses ``timestep_spacing="leading"`` (flowdiff's default, as in diffusers'
DDIM), not ``trailing``: with the cosine schedule ``alphas_cumprod[T-1]`` is ~2e-9, so an
epsilon-prediction network's clean-data estimate at the first trailing step multiplies its error
by ~2e4 and the samples blow up.
The section reports ``ddim`` x 50 steps with ``trailing`` on the same network for comparison.

The result is written as a markdown section between ``<!-- quality_vs_nfe:start -->`` and
``<!-- quality_vs_nfe:end -->`` of ``--output`` (other content is kept), plus a PNG plot next to it.

    python -m studies.quality_vs_nfe                      # full run, a few minutes on 2 cores
    python -m studies.quality_vs_nfe --tiny --output /tmp/bench.md   # seconds-long smoke run
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import lightning
import matplotlib
import numpy as np
import ot
import torch

import flowdiff.optim
from flowdiff.data import Toy2DDataModule
from flowdiff.data.toy2d_distributions import DISTRIBUTIONS, sample_toy2d
from flowdiff.metrics import sliced_wasserstein, wasserstein2
from flowdiff.model.module import GenerativeModule
from flowdiff.networks import MLP
from flowdiff.paths import DiffusionPath, FlowMatchingPath
from flowdiff.samplers import DiffusersSampler, ODESampler
from studies import common

matplotlib.use("Agg")
import matplotlib.pyplot as plt

START = "<!-- quality_vs_nfe:start -->"
END = "<!-- quality_vs_nfe:end -->"
FLOW = "flow matching"
FLOW_OT = "flow matching + OT"  # coupling="ot": minibatch optimal-transport pairing
DIFFUSION = "diffusion"
FAMILIES = (FLOW, FLOW_OT, DIFFUSION)
#: a setting "reaches the best quality" within this relative margin of the family's best W2
QUALITY_MARGIN = 0.05
#: fixed-step ODE methods and their network evaluations per step
ODE_METHODS = {"euler": 1, "midpoint": 2, "rk4": 4}
ODE_STEPS = (1, 2, 4, 8, 16, 32, 64)
#: adaptive dopri5 tolerances (atol = rtol); 1e-5 is ODESampler's default
DOPRI5_TOLERANCES = (1e-3, 1e-5)
#: flowdiff's short names, then diffusers schedulers by class name (any DDPM-compatible one)
DIFFUSERS_TYPES = (
    "ddim",
    "ddpm",
    "dpmsolver++",
    "UniPCMultistepScheduler",
    "DPMSolverSinglestepScheduler",
    "EulerDiscreteScheduler",
    "HeunDiscreteScheduler",
)
DIFFUSERS_STEPS = (5, 10, 20, 50, 100, 250)
#: fixed-step settings whose nominal NFE exceeds this are skipped
MAX_NFE = 128
#: seeds of the fresh reference samples (training data uses the datamodule's seed 0)
REFERENCE_SEED = 10_001
FLOOR_SEEDS = (10_002, 10_003, 10_004, 10_005, 10_006)


@dataclass
class Setting:
    family: str
    sampler: str  # label shown in the table
    steps: int | None  # None for adaptive solvers
    make: functools.partial  # builds the sampler


@dataclass
class Floor:
    w2: list[float]
    sw: list[float]

    @property
    def w2_mean(self) -> float:
        return float(np.mean(self.w2))

    @property
    def sw_mean(self) -> float:
        return float(np.mean(self.sw))


@dataclass
class Result:
    setting: Setting
    nfe: int
    w2: float
    sw: float
    seconds: float
    far: int | None = None  # samples beyond twice the largest norm of the reference


def settings() -> list[Setting]:
    """Every sampler setting of the benchmark, in table order."""
    out = []
    for family in (FLOW, FLOW_OT):
        for method, per_step in ODE_METHODS.items():
            for steps in ODE_STEPS:
                if steps * per_step <= MAX_NFE:
                    make = functools.partial(ODESampler, method, steps)
                    out.append(Setting(family, method, steps, make))
        for tol in DOPRI5_TOLERANCES:
            make = functools.partial(ODESampler, "dopri5", atol=tol, rtol=tol)
            out.append(Setting(family, f"dopri5 (tol {tol:g})", None, make))
    for sampler_type in DIFFUSERS_TYPES:
        for steps in DIFFUSERS_STEPS:
            make = functools.partial(DiffusersSampler, sampler_type, steps)
            out.append(Setting(DIFFUSION, sampler_type, steps, make))
    return out


# --------------------------------------------------------------------------- training
def train(
    path,
    sampler,
    datamodule: Toy2DDataModule,
    args: argparse.Namespace,
) -> tuple[GenerativeModule, float, float]:
    """Train one model; returns it (in eval mode), the fit wall time and the last val loss."""
    lightning.seed_everything(args.seed, verbose=False)
    model = GenerativeModule(
        network=MLP([2], hidden=args.hidden, depth=args.depth),
        path=path,
        sampler=sampler,
        data_shape=[2],
        optimizer=functools.partial(torch.optim.AdamW, lr=args.lr, weight_decay=0.0),
        lr_scheduler=functools.partial(
            flowdiff.optim.cosine, warmup_steps=args.warmup_steps, min_lr_ratio=0.01
        ),
    )
    trainer = lightning.Trainer(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        max_epochs=args.epochs,
    )
    with common.Stopwatch() as watch:
        trainer.fit(model, datamodule=datamodule)
    val_loss = float(trainer.callback_metrics.get("val/loss", float("nan")))
    return model.eval(), watch.seconds, val_loss


def evaluate(
    model: GenerativeModule, setting: Setting, reference: np.ndarray, args: argparse.Namespace
) -> Result:
    generator = torch.Generator().manual_seed(args.seed)
    with common.Stopwatch() as watch:
        out = model.generate(args.num_samples, sampler=setting.make(), generator=generator)
    x = out.x.double().numpy()
    if not np.isfinite(x).all():
        return Result(setting, out.nfe, float("nan"), float("nan"), watch.seconds)
    w2 = wasserstein2(x, reference)
    sw = sliced_wasserstein(x, reference, args.projections, args.seed)
    far = int((np.linalg.norm(x, axis=1) > 2 * np.linalg.norm(reference, axis=1).max()).sum())
    return Result(setting, out.nfe, w2, sw, watch.seconds, far)


# --------------------------------------------------------------------------- report


def _fmt(value: float, digits: int = 4) -> str:
    return "nan" if not np.isfinite(value) else f"{value:.{digits}f}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _name(result: Result) -> str:
    s = result.setting
    steps = "" if s.steps is None else f" x {_plural(s.steps, 'step')}"
    return f"{s.sampler}{steps} (NFE {result.nfe})"


def summary(results: list[Result], floor: Floor, nfe_budget: int = 20) -> list[str]:
    """Factual one-liners computed from the numbers (no hand-written claims)."""
    lines = []
    floor_high = max(floor.w2)
    for family in FAMILIES:
        rows = [r for r in results if r.setting.family == family and np.isfinite(r.w2)]
        if not rows:
            lines.append(f"{family}: no setting produced finite samples.")
            continue
        best = min(rows, key=lambda r: r.w2)
        cheap = [r for r in rows if r.nfe <= nfe_budget]
        text = f"**{family[:1].upper() + family[1:]}**: "
        if cheap:
            best_cheap = min(cheap, key=lambda r: r.w2)
            text += (
                f"best at NFE <= {nfe_budget} is {_name(best_cheap)}, W2 {best_cheap.w2:.3f} "
                f"({best_cheap.w2 / floor.w2_mean:.2f}x the mean noise floor); "
            )
        text += f"best overall is {_name(best)}, W2 {best.w2:.3f}; "
        at_floor = [r for r in rows if r.w2 <= floor_high]
        if at_floor:
            cheapest = min(at_floor, key=lambda r: (r.nfe, r.w2))
            text += (
                f"{len(at_floor)} of {len(rows)} settings are within the noise floor's range "
                f"(W2 <= {floor_high:.3f}), the cheapest being {_name(cheapest)}."
            )
        else:
            text += f"no setting reaches the noise floor's range (W2 <= {floor_high:.3f})."
        choice = fewest_nfe_within(rows)
        text += (
            f" Fewest NFE within {QUALITY_MARGIN:.0%} of the best W2: {_name(choice)}, "
            f"W2 {choice.w2:.3f}, {choice.seconds:.3f} s."
        )
        lines.append(text)
    fewest = []
    for family, sampler in family_samplers(results):
        rows = [r for r in results if (r.setting.family, r.setting.sampler) == (family, sampler)]
        if rows:
            first = min(rows, key=lambda r: r.nfe)
            fewest.append(f"{family} {_name(first)} W2 {_fmt(first.w2, 3)}")
    if fewest:
        lines.append("Fewest-step setting of each fixed-step sampler: " + "; ".join(fewest) + ".")
    worse = []
    for family, sampler in family_samplers(results):
        rows = sorted(
            (
                r
                for r in results
                if (r.setting.family, r.setting.sampler) == (family, sampler) and np.isfinite(r.w2)
            ),
            key=lambda r: r.nfe,
        )
        if len(rows) > 1:
            best = min(rows, key=lambda r: r.w2)
            if rows[-1].w2 > 1.5 * best.w2 and rows[-1].w2 > max(floor.w2):
                worse.append(
                    f"{family} {sampler} is best at {_plural(best.setting.steps, 'step')} (W2 "
                    f"{best.w2:.3f}) but reaches W2 {rows[-1].w2:.3f} at "
                    f"{_plural(rows[-1].setting.steps, 'step')}"
                )
    if worse:
        lines.append("More steps make some samplers worse: " + "; ".join(worse) + ".")
    adaptive = [r for r in results if r.setting.steps is None]
    if adaptive:
        lines.append(
            "Adaptive dopri5: "
            + "; ".join(
                f"{r.setting.family} {r.setting.sampler} used NFE {r.nfe}, W2 {_fmt(r.w2, 3)}"
                for r in adaptive
            )
            + "."
        )
    return lines


def family_samplers(results: list[Result]) -> list[tuple[str, str]]:
    """The fixed-step (family, sampler) pairs present in ``results``, in table order."""
    pairs = []
    for family in FAMILIES:
        for sampler in (*ODE_METHODS, *DIFFUSERS_TYPES):
            if any((r.setting.family, r.setting.sampler) == (family, sampler) for r in results):
                pairs.append((family, sampler))
    return pairs


def fewest_nfe_within(rows: list[Result], margin: float = QUALITY_MARGIN) -> Result:
    """The setting with the fewest NFE whose W2 is within ``margin`` of the best W2 of
    ``rows`` (ties: the better W2): how a preset's default solver and steps are chosen."""
    best = min(r.w2 for r in rows)
    good = [r for r in rows if r.w2 <= (1 + margin) * best]
    return min(good, key=lambda r: (r.nfe, r.w2))


def plot(results: list[Result], floor: Floor, path: Path, title: str) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    styles = {FLOW: "-", FLOW_OT: ":", DIFFUSION: "--"}
    markers = {"euler": "o", "midpoint": "s", "rk4": "^", "ddim": "D", "ddpm": "v"}
    markers["dpmsolver++"] = "P"
    for ax, metric, floors, label in (
        (axes[0], "w2", floor.w2, "W2 (exact)"),
        (axes[1], "sw", floor.sw, "sliced W2"),
    ):
        groups: dict[tuple[str, str], list[Result]] = {}
        for r in results:
            if r.setting.steps is not None:
                groups.setdefault((r.setting.family, r.setting.sampler), []).append(r)
        for (family, sampler), rows in groups.items():
            rows = sorted(rows, key=lambda r: r.nfe)
            ax.plot(
                [r.nfe for r in rows],
                [getattr(r, metric) for r in rows],
                linestyle=styles[family],
                marker=markers.get(sampler, "o"),
                label=f"{family}: {sampler}",
            )
        for r, marker in zip(
            (r for r in results if r.setting.steps is None), ("*", "X", "h", "p"), strict=False
        ):
            ax.plot(
                [r.nfe],
                [getattr(r, metric)],
                linestyle="none",
                marker=marker,
                markersize=13,
                color="black",
                label=f"{r.setting.family}: {r.setting.sampler}",
            )
        ax.axhline(
            float(np.mean(floors)), color="gray", linestyle="--", linewidth=2, label="noise floor"
        )
        ax.axhspan(min(floors), max(floors), color="gray", alpha=0.15, label="noise floor range")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("NFE (network evaluations, log scale)")
        ax.set_ylabel(f"{label} to fresh samples (log scale)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_title("W2 vs NFE")
    axes[1].set_title("sliced W2 vs NFE")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center right", fontsize=9)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 0.8, 0.95))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_section(output: Path, section: str) -> None:
    """Replace this benchmark's marked section of ``output`` (append or create as needed)."""
    common.write_section(output, "quality_vs_nfe", section)


def report(
    args: argparse.Namespace,
    results: list[Result],
    floor: Floor,
    training: dict[str, tuple[float, float]],
    trailing: Result | None,
    plot_link: str,
) -> str:
    order = {name: i for i, name in enumerate((*ODE_METHODS, *DIFFUSERS_TYPES))}
    rows = sorted(
        results,
        key=lambda r: (
            FAMILIES.index(r.setting.family),
            order.get(r.setting.sampler, len(order)),
            r.setting.sampler,
            r.nfe,
        ),
    )
    table = [
        "| family | sampler | steps | NFE | W2 | sliced W | sample time s |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        steps = "adaptive" if r.setting.steps is None else str(r.setting.steps)
        table.append(
            f"| {r.setting.family} | {r.setting.sampler} | {steps} | {r.nfe} | {_fmt(r.w2)} | "
            f"{_fmt(r.sw)} | {r.seconds:.3f} |"
        )
    train_lines = [
        f"- Data: `{args.dataset}` from `Toy2DDataModule`, {args.train_samples} samples "
        f"(90/10 train/val split, data seed 0, standardised); seed {args.seed}.",
        f"- Network: `MLP(hidden={args.hidden}, depth={args.depth})` for every model; "
        f"AdamW lr {args.lr:g} (no weight decay), cosine schedule with {args.warmup_steps} "
        f"warm-up steps to 1% of lr, batch {args.batch_size}, "
        f"{_plural(args.epochs, 'epoch')}, CPU.",
        "- Flow matching: `FlowMatchingPath(scheduler='condot')`; flow matching + OT: the same "
        "with `coupling='ot'` (minibatch optimal-transport pairing of noise and data); diffusion: "
        "`DiffusionPath(prediction_type='epsilon', beta_schedule='squaredcos_cap_v2', "
        f"timestep_spacing='{args.timestep_spacing}')` (1000 train timesteps).",
    ]
    for family, (seconds, val_loss) in training.items():
        train_lines.append(
            f"- {family[:1].upper() + family[1:]} training: {seconds:.1f} s wall, final val loss "
            f"{val_loss:.4f}."
        )
    title = "## Sample quality vs NFE on toy 2-D data"
    if args.tiny:
        title += " (--tiny smoke run: numbers are meaningless)"
    parts = [
        title,
        "",
        "Rerunning the command below replaces this section.",
        "",
        *common.provenance(),
        f"- POT {ot.__version__}",
        "",
        "### Training",
        "",
        *train_lines,
        "",
        "### Results",
        "",
        f"Each setting generates N = {args.num_samples} samples from the same seeded noise "
        f"(`torch.Generator().manual_seed({args.seed})`) and is compared with N fresh samples "
        f"of the generator (`sample_toy2d('{args.dataset}', {args.num_samples}, "
        f"seed={REFERENCE_SEED})`, not the training data). W2: exact 2-Wasserstein distance "
        "(`ot.emd2`, squared Euclidean cost, square-rooted). Sliced W: "
        f"`ot.sliced_wasserstein_distance` with {args.projections} projections (seed "
        f"{args.seed}). NFE is `SamplerOutput.nfe` for the whole batch; sample time is the "
        f"wall time of `generate`. Fixed-step settings above NFE {MAX_NFE} are skipped; dopri5 "
        "steps adaptively (atol = rtol = tol).",
        "",
        *table,
        "",
        f"**Noise floor** (the reference against {len(floor.w2)} other fresh samples of size "
        f"{args.num_samples}, seeds {FLOOR_SEEDS[0]}-{FLOOR_SEEDS[len(floor.w2) - 1]}): "
        f"W2 {floor.w2_mean:.4f} (range {min(floor.w2):.4f}-{max(floor.w2):.4f}), "
        f"sliced W {floor.sw_mean:.4f} (range {min(floor.sw):.4f}-{max(floor.sw):.4f}). "
        "Differences within this range are sampling noise, so settings inside it cannot be "
        "ranked against each other (a W2 below the mean floor does not mean better samples "
        "than fresh data).",
        "",
        *trailing_note(trailing, args),
        f"![W2 and sliced W2 vs NFE]({plot_link})",
        "",
        "### What the table shows",
        "",
        *(f"- {line}" for line in summary(results, floor)),
    ]
    return "\n".join(parts) + "\n"


def trailing_note(trailing: Result | None, args: argparse.Namespace) -> list[str]:
    if trailing is None:
        return []
    far = (
        ""
        if trailing.far is None
        else (
            f"; {trailing.far} of {args.num_samples} samples lie beyond twice the largest norm of "
            "the fresh data"
        )
    )
    abar = float(DiffusionPath(beta_schedule="squaredcos_cap_v2").scheduler.alphas_cumprod[-1])
    gain = ((1 - abar) / abar) ** 0.5
    return [
        f"**Diffusion with `timestep_spacing='trailing'`** (same network, "
        f"{_name(trailing).replace(' (', ', ').rstrip(')')}): W2 {_fmt(trailing.w2)}, "
        f"sliced W {_fmt(trailing.sw)}{far}. With "
        f"`squaredcos_cap_v2`, `alphas_cumprod[999]` is {abar:.1e}, so the epsilon network's "
        "clean-data estimate at the first trailing step (t = 999) multiplies its error by "
        f"{gain:.1e}; the table therefore uses `{args.timestep_spacing}` spacing.",
        "",
    ]


# --------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="8gaussians", choices=sorted(DISTRIBUTIONS))
    parser.add_argument("--epochs", type=int, default=None, help="default 40 (1 with --tiny)")
    parser.add_argument(
        "--num-samples",
        type=int,
        default=None,
        help="samples generated per setting and in each reference set (default 2000; 200 --tiny)",
    )
    parser.add_argument(
        "--train-samples", type=int, default=None, help="training data size (default 20000)"
    )
    parser.add_argument("--hidden", type=int, default=None, help="MLP width (default 256)")
    parser.add_argument("--depth", type=int, default=None, help="MLP blocks (default 3)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup-steps", type=int, default=None, help="default 100")
    parser.add_argument("--projections", type=int, default=200, help="sliced-W projections")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--timestep-spacing",
        default="leading",
        choices=("leading", "trailing", "linspace"),
        help="diffusion path's timestep spacing (default leading, flowdiff's default; trailing "
        "blows up with the cosine schedule and epsilon prediction)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default 1: the tensors are small, and extra threads only "
        "slow down on a shared machine)",
    )
    parser.add_argument("--tiny", action="store_true", help="seconds-long smoke run")
    parser.add_argument("--output", type=Path, default=common.result_file("quality_vs_nfe"))
    parser.add_argument(
        "--plot",
        type=Path,
        default=None,
        help="PNG path (default: quality_vs_nfe.png next to --output)",
    )
    args = parser.parse_args(argv)
    full = {"epochs": 40, "num_samples": 2000, "train_samples": 20_000, "hidden": 256, "depth": 3}
    full["warmup_steps"] = 100
    tiny = {"epochs": 1, "num_samples": 200, "train_samples": 2000, "hidden": 32, "depth": 1}
    tiny["warmup_steps"] = 2
    for key, value in (tiny if args.tiny else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.plot is None:
        args.plot = args.output.parent / "quality_vs_nfe.png"
    return args


def main(argv: list[str] | None = None) -> list[Result]:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    logging.getLogger("lightning.fabric").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")

    datamodule = Toy2DDataModule(
        name=args.dataset,
        num_samples=args.train_samples,
        batch_size=args.batch_size,
        val_fraction=0.1,
        seed=0,
    )
    models, training = {}, {}
    for family, path, sampler in (
        (FLOW, FlowMatchingPath(scheduler="condot"), ODESampler("midpoint", 20)),
        (FLOW_OT, FlowMatchingPath(scheduler="condot", coupling="ot"), ODESampler("midpoint", 20)),
        (
            DIFFUSION,
            DiffusionPath(
                prediction_type="epsilon",
                beta_schedule="squaredcos_cap_v2",
                timestep_spacing=args.timestep_spacing,
            ),
            DiffusersSampler("ddim", 50),
        ),
    ):
        model, seconds, val_loss = train(path, sampler, datamodule, args)
        models[family], training[family] = model, (seconds, val_loss)
        print(f"trained {family}: {seconds:.1f} s, val loss {val_loss:.4f}", flush=True)

    reference = sample_toy2d(args.dataset, args.num_samples, seed=REFERENCE_SEED).double().numpy()
    floor = Floor([], [])
    for seed in FLOOR_SEEDS[: 2 if args.tiny else None]:
        other = sample_toy2d(args.dataset, args.num_samples, seed=seed).double().numpy()
        floor.w2.append(wasserstein2(other, reference))
        floor.sw.append(sliced_wasserstein(other, reference, args.projections, args.seed))
    print(f"noise floor: W2 {floor.w2_mean:.4f}, sliced W {floor.sw_mean:.4f}", flush=True)

    results = []
    for setting in settings():
        result = evaluate(models[setting.family], setting, reference, args)
        results.append(result)
        print(
            f"{setting.family:>13} {setting.sampler:>17} steps {setting.steps!s:>4} "
            f"NFE {result.nfe:>4}  W2 {_fmt(result.w2)}  SW {_fmt(result.sw)}  "
            f"{result.seconds:.3f} s",
            flush=True,
        )

    trailing = None
    if args.timestep_spacing != "trailing":
        diffusion = models[DIFFUSION]
        default_path = GenerativeModule(
            network=diffusion.network,
            path=DiffusionPath(
                prediction_type="epsilon",
                beta_schedule="squaredcos_cap_v2",
                timestep_spacing="trailing",
            ),
            sampler=DiffusersSampler("ddim", 50),
            data_shape=[2],
        ).eval()
        default_path.normalizer.load_state_dict(diffusion.normalizer.state_dict())
        setting = Setting(DIFFUSION, "ddim", 50, functools.partial(DiffusersSampler, "ddim", 50))
        trailing = evaluate(default_path, setting, reference, args)
        print(f"ddim x 50 with trailing spacing: W2 {_fmt(trailing.w2)}", flush=True)

    plot_title = (
        f"{args.dataset}: quality vs NFE (N = {args.num_samples}; diffusion timestep spacing "
        f"'{args.timestep_spacing}')"
    )
    plot(results, floor, args.plot, plot_title)
    link = os.path.relpath(args.plot.resolve(), args.output.resolve().parent)
    section = report(args, results, floor, training, trailing, link)
    write_section(args.output, section)
    print(f"wrote {args.output} and {args.plot}", flush=True)
    return results


if __name__ == "__main__":
    main()
