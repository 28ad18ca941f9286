"""Diffusion quality against step count, per diffusers scheduler and per schedule/target choice.

Issue 24: with epsilon prediction on the cosine schedule, DDIM, Euler and Heun got *worse* with
more steps on toy 2-D data. This study trains one small diffusion model per variant (prediction
type, schedule, spacing, clean-data clipping) on two tasks and samples each with every scheduler
flowdiff supports at 10, 20, 50, 100 and 250 steps, from the same seeded noise:

* ``toy2d``: moons, standardised; W2 (exact, POT) of ``--samples`` (1000) samples against
  fresh data.
* ``vectors``: the ring posterior task (``flowdiff.sbi.tasks.ring.RingSimulator``, 2 parameters
  given 2 observations, standardised), trained with 10% condition dropout; W2 of ``--samples``
  posterior samples against as many exact ones at ``--observations`` observations, at guidance
  scale 1 and 2 (guidance 2 is not the posterior: there the question is only whether more
  steps stay sound).

The noise floor is W2 between independent exact samples of the same size. The result is a
markdown section ``diffusion_steps_<task>`` of ``--output`` and a JSON file of every figure.

    python -m studies.diffusion_steps --task toy2d          # ~12 min per variant on a loaded core
    python -m studies.diffusion_steps --task vectors --variants v_cosine eps_cosine
    python -m studies.diffusion_steps --tiny --output /tmp/steps.md
"""

from __future__ import annotations

import functools
import json
import math

import lightning
import numpy as np
import torch

import flowdiff.optim
from flowdiff.data import ArraysDataModule, Toy2DDataModule
from flowdiff.data.toy2d_distributions import sample_toy2d
from flowdiff.errors import ConfigError
from flowdiff.metrics import wasserstein2
from flowdiff.model.module import GenerativeModule
from flowdiff.networks import MLP
from flowdiff.paths import DiffusionPath
from flowdiff.samplers import DiffusersSampler
from flowdiff.samplers.diffusers import SCHEDULERS, compatible_schedulers
from flowdiff.sbi.tasks.ring import RingSimulator
from studies import common

STEPS = (10, 20, 50, 100, 250)
#: name -> DiffusionPath arguments (and ``clip``: clamp the clean-data estimate to the training
#: split's per-feature range, widened by 10%, in the network's units)
VARIANTS = {
    "eps_cosine": {"prediction_type": "epsilon"},  # the default before issue 24
    "eps_linear": {"prediction_type": "epsilon", "beta_schedule": "linear"},
    "eps_cosine_clip": {"prediction_type": "epsilon", "clip": True},
    "v_cosine": {"prediction_type": "v_prediction"},
    "v_cosine_trailing": {"prediction_type": "v_prediction", "timestep_spacing": "trailing"},
    "v_zsnr_trailing": {
        "prediction_type": "v_prediction",
        "timestep_spacing": "trailing",
        "rescale_betas_zero_snr": True,
    },
}


def sampler_types() -> list[str]:
    """Every scheduler of the contract: the short names (DDIM at eta 0 and 1) and the
    compatible diffusers classes that the short names do not already cover."""
    covered = {"DDIMScheduler", "DDPMScheduler", "DPMSolverMultistepScheduler"}
    names = [name for name in compatible_schedulers() if name not in covered]
    return ["ddim", "ddim_eta1", *sorted(SCHEDULERS)[1:], *names]


def make_sampler(name: str, steps: int, clip=None) -> DiffusersSampler:
    eta = 1.0 if name == "ddim_eta1" else 0.0
    name = "ddim" if name == "ddim_eta1" else name
    if clip is not None:
        return ClippedX1(name, steps, *clip, eta=eta)
    return DiffusersSampler(name, steps, eta=eta)


class ClippedX1(DiffusersSampler):
    """A diffusers sampler whose model function returns the clean-data estimate clamped to
    ``[low, high]`` (in the path's prediction type): ``clip_sample`` for every scheduler."""

    def __init__(self, name: str, steps: int, low: torch.Tensor, high: torch.Tensor, eta=0.0):
        super().__init__(name, steps, eta=eta)
        self.low, self.high = low, high

    def sample(self, model, path, x_init, generator=None):
        def clipped(x, t):
            out = model(x, t)
            abar = path._abar(t, x)
            x1 = path.predict_x1(out, x, t).clamp(self.low, self.high)
            eps = (x - abar.sqrt() * x1) / (1 - abar).clamp_min(1e-12).sqrt()
            if path.prediction_type == "epsilon":
                return eps
            return abar.sqrt() * eps - (1 - abar).sqrt() * x1

        return super().sample(clipped, path, x_init, generator)


def make_path(spec: dict) -> DiffusionPath:
    kwargs = {key: value for key, value in spec.items() if key != "clip"}
    return DiffusionPath(**kwargs)


def train(spec: dict, datamodule, data_shape, cond_shape, args) -> GenerativeModule:
    lightning.seed_everything(0, verbose=False)
    model = GenerativeModule(
        network=MLP(data_shape, hidden=args.hidden, depth=args.depth, cond_shape=cond_shape),
        path=make_path(spec),
        sampler=DiffusersSampler("ddim", 10),
        data_shape=data_shape,
        cond_shape=cond_shape,
        cond_drop_prob=0.1 if cond_shape else 0.0,
        optimizer=functools.partial(torch.optim.AdamW, lr=1e-3, weight_decay=0.0),
        lr_scheduler=functools.partial(flowdiff.optim.cosine, warmup_steps=100),
    )
    trainer = lightning.Trainer(
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        max_steps=args.train_steps,
        max_epochs=10_000,
        limit_val_batches=0,
    )
    trainer.fit(model, datamodule=datamodule)
    return model.eval()


def clip_range(datamodule) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-feature range of the normalised training split, widened by 10% of its width."""
    x = torch.cat([batch["x"] for batch in datamodule.train_dataloader()])
    low, high = x.min(0).values, x.max(0).values
    return low - 0.1 * (high - low), high + 0.1 * (high - low)


# --------------------------------------------------------------------------- tasks
def toy2d_task(args):
    """Datamodule, shapes, and ``draw(model, sampler) -> list of W2`` with the noise floor."""
    datamodule = Toy2DDataModule(name="moons", num_samples=20_000, batch_size=256)
    datamodule.setup("fit")
    n = 500 if args.tiny else args.samples
    reference = sample_toy2d("moons", n, seed=10_001).double().numpy()
    floor = [
        wasserstein2(sample_toy2d("moons", n, seed=s).double().numpy(), reference)
        for s in range(10_002, 10_002 + args.floor_pairs)
    ]

    def draw(model, sampler):
        return [
            _w2(model.generate(n, sampler=sampler, generator=_seeded(seed)).x, reference)
            for seed in range(args.seeds)
        ]

    return datamodule, [2], None, draw, floor


def vectors_task(args):
    """The ring posterior: 10,000 simulations; ``--observations`` x guidance 1 and 2."""
    task, rng = RingSimulator(), np.random.default_rng(0)
    theta, x = task.simulate(10_000, rng)
    datamodule = ArraysDataModule(
        x=torch.as_tensor(theta, dtype=torch.float32),
        cond=torch.as_tensor(x, dtype=torch.float32),
        shape=[2],
        cond_shape=[2],
        batch_size=256,
        val_fraction=0.1,
    )
    datamodule.setup("fit")
    n = 300 if args.tiny else args.samples
    observations = task.simulate(args.observations, np.random.default_rng(1))[1]
    references = [task.posterior_samples(x_o, n, np.random.default_rng(2)) for x_o in observations]
    floor = [
        wasserstein2(task.posterior_samples(x_o, n, np.random.default_rng(seed)), ref)
        for x_o, ref in zip(observations, references, strict=True)
        for seed in range(3, 3 + args.floor_pairs)
    ]

    def draw(model, sampler):
        w2 = []
        for scale in (1.0, 2.0):
            for x_o, ref in zip(observations, references, strict=True):
                cond = torch.as_tensor(x_o, dtype=torch.float32).expand(n, 2)
                for seed in range(args.seeds):
                    out = model.generate(
                        cond=cond, sampler=sampler, guidance_scale=scale, generator=_seeded(seed)
                    )
                    w2.append(_w2(out.x, ref))
        return w2

    return datamodule, [2], [2], draw, floor


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _w2(x: torch.Tensor, reference: np.ndarray) -> float:
    x = x.double().numpy()
    return wasserstein2(x, reference) if np.isfinite(x).all() else math.inf


# --------------------------------------------------------------------------- report
#: 250 steps "hold" when their W2 is within this fraction of the floor's mean W2 of the best,
#: or inside the floor's range (then indistinguishable from fresh data)
TOLERANCE = 0.5


def verdict(row: dict, floor: list[float]) -> tuple[float, float, bool]:
    """Best mean W2 over the step counts, W2 at the most steps, and whether it holds."""
    means = [float(np.mean(v)) for v in row.values()]
    best, last = min((m for m in means if not math.isnan(m)), default=math.nan), means[-1]
    if math.isnan(last):  # refused: nothing silently worse
        return best, last, True
    return best, last, last <= max(best + TOLERANCE * float(np.mean(floor)), max(floor))


def z_score(draws: list[float], floor: list[float]) -> float:
    """How many standard errors the draws' mean W2 sits above the floor's mean (Welch): about
    2 or more is a real excess over fresh data at this sample size, not noise."""
    a, b = np.asarray(draws, float), np.asarray(floor, float)
    spread = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)) if len(a) > 1 else 0.0
    return float((a.mean() - b.mean()) / spread) if spread > 0 else math.nan


def report(record: dict, args) -> str:
    floor, steps = record["floor"], record["steps"]
    title = ", ".join(filter(None, [args.task, args.label]))
    lines = [
        f"## Diffusion quality against step count ({title})",
        "",
        *common.provenance(),
        "",
        f"Every variant: MLP {args.hidden} x {args.depth}, {record['train_steps']} AdamW steps "
        "(batch 256, lr 1e-3, cosine), 1000 training timesteps; W2 (mean over draws) at each "
        "step count, same noise. "
        f"Noise floor (W2 between exact samples): {np.mean(floor):.3f} "
        f"({min(floor):.3f}-{max(floor):.3f}, {len(floor)} pairs), {args.seeds} draw(s) per "
        "setting (mean +- sd). 'holds': W2 at "
        f"{steps[-1]} steps within {TOLERANCE} x the floor's mean of the sampler's best, or "
        "inside the floor's range; z: standard errors (Welch) by which the most steps' mean W2 "
        "exceeds the floor's mean / the sampler's best step count's mean (>= 2: a real excess, "
        "not noise).",
        "",
    ]
    for name, rows in record["results"].items():
        spec = ", ".join(f"{k}={v}" for k, v in VARIANTS[name].items())
        held = sum(verdict(row, floor)[2] for row in rows.values())
        lines += [f"**{name}** ({spec}): {held} of {len(rows)} samplers hold", ""]
        lines += [
            "| sampler | " + " | ".join(f"x{s}" for s in steps) + " | holds | z: floor / best |",
            "|---|" + "---:|" * len(steps) + "---|---:|",
        ]
        for sampler, row in rows.items():
            cells = " | ".join(_cell(np.mean(v), np.std(v, ddof=1) if len(v) > 1 else None)
                               for v in row.values())  # fmt: skip
            held = "yes" if verdict(row, floor)[2] else "NO"
            draws = list(row.values())
            best = min(draws, key=lambda d: math.inf if math.isnan(np.mean(d)) else np.mean(d))
            z = f"{z_score(draws[-1], floor):.1f} / {z_score(draws[-1], best):.1f}"
            lines.append(f"| {sampler} | {cells} | {held} | {z} |")
        lines.append("")
    return "\n".join(lines)


def _cell(value: float, spread: float | None = None) -> str:
    if math.isnan(value):
        return "refused"
    if not math.isfinite(value):
        return "inf"
    text = f"{value:.3f}" if value < 100 else f"{value:.0f}"
    return text if spread is None or not math.isfinite(spread) else f"{text} +- {spread:.3f}"


TASKS = {"toy2d": toy2d_task, "vectors": vectors_task}


# --------------------------------------------------------------------------- run
def supports(variant: dict, name: str) -> bool:
    """Zero terminal SNR only reaches the schedulers that take ``rescale_betas_zero_snr``."""
    if not variant.get("rescale_betas_zero_snr"):
        return True
    import inspect

    cls = make_sampler(name, 10).scheduler_cls
    return "rescale_betas_zero_snr" in inspect.signature(cls.__init__).parameters


def refused_or(draw, model, sampler) -> list[float]:
    """``draw(model, sampler)``, or ``[nan]`` where flowdiff refuses the setting (an epsilon
    model on a schedule it cannot start soundly: the table says "refused")."""
    try:
        return draw(model, sampler)
    except ConfigError:
        return [math.nan]


def run_variant(name: str, task, args) -> dict[str, dict[int, list[float]]]:
    datamodule, data_shape, cond_shape, draw, _ = task
    spec = VARIANTS[name]
    with common.Stopwatch() as watch:
        model = train(spec, datamodule, data_shape, cond_shape, args)
    clip = clip_range(datamodule) if spec.get("clip") else None
    rows = {}
    for sampler in args.samplers:
        if not supports(spec, sampler):
            continue
        with torch.no_grad():
            rows[sampler] = {
                s: refused_or(draw, model, make_sampler(sampler, s, clip)) for s in args.steps
            }
        print(
            name,
            sampler,
            {s: np.round(np.mean(v), 3) for s, v in rows[sampler].items()},
            flush=True,
        )
    print(f"{name}: trained in {watch.seconds:.0f} s", flush=True)
    return rows


def main(argv=None) -> None:
    parser = common.arguments(__doc__, tiny="300 training steps, 2 schedulers, 2 step counts")
    parser.add_argument("--task", choices=sorted(TASKS), default="toy2d")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--samplers", nargs="+", default=None)
    parser.add_argument("--train-steps", type=int, default=3000)
    parser.add_argument("--hidden", type=int, default=64, help="MLP width")
    parser.add_argument("--depth", type=int, default=2, help="MLP residual blocks")
    parser.add_argument("--samples", type=int, default=1000, help="per draw and reference")
    parser.add_argument("--observations", type=int, default=2, help="vectors: how many x_o")
    parser.add_argument("--steps", type=int, nargs="+", default=list(STEPS))
    parser.add_argument("--seeds", type=int, default=1, help="draws (noise seeds) per setting")
    parser.add_argument("--floor-pairs", type=int, default=10, help="fresh-vs-reference W2s")
    parser.add_argument("--label", default="", help="a section of its own: <task>_<label>")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    common.quiet()
    args.steps = (10, 250) if args.tiny else tuple(args.steps)
    args.samplers = args.samplers or (["ddim", "dpmsolver++"] if args.tiny else sampler_types())
    if args.tiny:
        args.train_steps = 300
    task = TASKS[args.task](args)
    results = {name: run_variant(name, task, args) for name in args.variants}
    record = {
        "floor": task[4],
        "steps": list(args.steps),
        "train_steps": args.train_steps,
        "results": results,
    }
    name = "_".join([args.task, *([args.label] if args.label else [])])
    out = args.output.with_suffix(f".{name}.json")  # beside the dated result file
    out.write_text(json.dumps(record, indent=1))
    common.publish(args.output, f"diffusion_steps_{name}", report(record, args))


if __name__ == "__main__":
    main()
