"""Image quality per training step on the embedded digits: train a config for a fixed number of
steps, then score it with the pixel C2ST against the held-out digits (``flowdiff.evaluate``).

Each row is one training run of the real ``train`` config (or ``--config-name``) with the given
Hydra overrides, on the CPU, without the figure callback and loggers (they do not change the
weights). The budget is a number of optimizer steps rather than seconds, because the machine these
figures come from is shared and its wall clock is unreliable; ``--time`` measures the training
cost in ms/step instead (run it pinned: ``taskset -c 0``, one thread), so that a candidate's
steps can be fitted into the default's time.

    python -m studies.digits_ablation --steps 1650 --name default
    python -m studies.digits_ablation --steps 1650 --name cnn model/network=cnn
    taskset -c 0 python -m studies.digits_ablation --time --name cnn model/network=cnn
    python -m studies.digits_ablation --config-name train_hf_diffusion --name ddpm

Rows are appended as JSON lines to ``--output`` (default ``outputs/digits_ablation.jsonl``), and
``--table`` writes them as a dated result file (``studies/results/digits_ablation-<date>.md``);
the runs stay under ``outputs/digits_ablation/<name>/``, and a second call with the same
``--name`` scores the kept checkpoint with other ``--variants`` instead of training again.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

import flowdiff
from flowdiff.config import compose_config
from flowdiff.evaluation.reference import reference_from
from flowdiff.evaluation.suite import MetricOptions
from flowdiff.inference import build_sampler
from flowdiff.metrics import c2st, c2st_per_condition
from flowdiff.model.loading import load_model
from flowdiff.training import build, train
from studies.common import provenance, publish, result_file

#: Where each row's run (checkpoints, data config) is kept, so that it can be scored again.
RUNS = Path("outputs/digits_ablation")

#: The figure callback and loggers cost time but do not change the weights.
QUIET = [
    "trainer=cpu",
    "callbacks.progress_bar=null",
    "callbacks.sample_figures=null",
    "logger.tensorboard=null",
    "callbacks.lr_monitor=null",
    "+trainer.enable_model_summary=false",
]


def parse_variant(text: str) -> dict:
    """``"clip=0,method=euler,steps=8"`` -> ``{"clip": 0, "method": "euler", "steps": 8}``."""
    variant = {}
    for item in filter(None, text.split(",")):
        key, value = item.split("=", 1)
        variant[key] = int(value) if value.lstrip("-").isdigit() else value
    return variant


def apply_variant(model, variant: dict):
    """Set the variant's ``clip`` (``clip_samples``), ``levels`` (``sample_levels``, 0 for
    none) and ``guidance`` (``guidance_scale``) on ``model``; returns the sampler with its other
    settings."""
    settings = dict(variant)
    if "clip" in settings:
        model.hparams.clip_samples = bool(settings.pop("clip"))
    if "levels" in settings:
        model.hparams.sample_levels = settings.pop("levels") or None
    if "guidance" in settings:
        model.hparams.guidance_scale = float(settings.pop("guidance"))
    return build_sampler(model.sampler, settings, None) if settings else model.sampler


def score(model, datamodule, variant: dict, seed: int) -> dict:
    """Sample with the variant's settings (see :func:`apply_variant`) and score."""
    sampler = apply_variant(model, variant)
    result = flowdiff.evaluate(
        model,
        datamodule,
        sampler=sampler,
        num_samples=400,  # the held-out split has 360 digits: that many are compared
        nll_samples=0,
        seed=seed,
        metric_options=MetricOptions(seed=seed),
    )
    row = {"variant": variant, "nfe": result.nfe, "sample_s": round(result.seconds, 2)}
    row.update({k: round(v, 4) for k, v in result.metrics.items()})
    row["floor_c2st"] = round(result.floor["c2st"], 4)
    return row


def train_and_score(
    name: str,
    config_name: str,
    overrides: list[str],
    steps: int,
    seed: int,
    variants: list[dict],
) -> list[dict]:
    """Train ``steps`` optimizer steps into ``outputs/digits_ablation/<name>/`` (or reuse the
    checkpoint there), then score the EMA weights against the held-out digits once per
    sampling variant."""
    folder = RUNS / name
    ckpt = folder / "checkpoints" / "last.ckpt"
    cost = {}
    if not ckpt.is_file():
        cfg = compose_config(
            config_name,
            [*QUIET, *overrides, f"trainer.max_steps={steps}", "max_epochs=-1", f"seed={seed}"],
            output_dir=folder,
        )
        start, cpu_start = time.perf_counter(), time.process_time()
        train(cfg)
        cost["train_s"] = round(time.perf_counter() - start, 1)
        cost["train_cpu_s"] = round(time.process_time() - cpu_start, 1)
        folder.joinpath("config.yaml").write_text(OmegaConf.to_yaml(cfg.data, resolve=True))
    data_cfg = OmegaConf.load(folder / "config.yaml")
    rows = []
    for variant in variants:
        model = load_model(ckpt).model
        rows.append({**cost, **score(model, instantiate(data_cfg), variant, seed)})
    return rows


def sweep(name: str, variants: list[dict], seed: int, per_class: bool = False) -> list[dict]:
    """Pixel C2ST only (no features, no floor: a few seconds each) of the kept run ``name`` for
    each sampling variant, and within each class when ``per_class``: the quality-vs-NFE sweep
    that picks a preset's solver, and the cheap score of a run on a crowded machine."""
    folder = RUNS / name
    model = load_model(folder / "checkpoints" / "last.ckpt").model
    datamodule = instantiate(OmegaConf.load(folder / "config.yaml"))
    datamodule.setup("fit")
    reference = reference_from(datamodule, model)
    real = reference.val_x
    rows = []
    for variant in variants:
        sampler = apply_variant(model, variant)
        generator = torch.Generator().manual_seed(seed)
        start = time.perf_counter()
        out = model.generate(cond=reference.val_cond, sampler=sampler, generator=generator)
        seconds = time.perf_counter() - start
        rows.append(
            {
                "variant": variant,
                "nfe": out.nfe,
                "sample_s": round(seconds, 2),
                "c2st": round(c2st(real, out.x, seed=seed), 4),
            }
        )
        if per_class:
            scores = c2st_per_condition(real, reference.val_cond, out.x, reference.val_cond)
            rows[-1]["c2st_cond_mean"] = round(float(np.mean(list(scores.values()))), 4)
        print(json.dumps(rows[-1]), flush=True)
    return rows


def ms_per_step(
    config_name: str, overrides: list[str], steps: int = 60, warmup: int = 10
) -> dict[str, float]:
    """Milliseconds per training step (forward, backward, optimizer, EMA excluded) on the
    default batch, after ``warmup`` steps, on one thread: wall time and CPU time of this
    process (on a shared core the CPU time is the steadier figure)."""
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as folder:
        cfg = compose_config(config_name, [*QUIET, *overrides], output_dir=folder)
        datamodule, model, _ = build(cfg)
    datamodule.setup("fit")
    batch = next(iter(datamodule.train_dataloader()))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    for i in range(warmup + steps):
        if i == warmup:
            start, cpu_start = time.perf_counter(), time.process_time()
        loss = model._shared_step(batch, "train")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return {
        "ms_per_step": round(1000 * wall / steps, 2),
        "cpu_ms_per_step": round(1000 * cpu / steps, 2),
    }


def _number(value, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def markdown(rows: list[dict]) -> str:
    """The scored rows as a Markdown table, one line per run and sampling variant (``--sweep``
    rows have the pixel C2ST, and the per-class one with ``--per-class``, only)."""
    lines = [
        "| name | overrides | variant | NFE | sample s | C2ST | C2ST per class (mean) "
        "| cond. accuracy | floor C2ST |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if "c2st" not in r:
            continue
        overrides = " ".join(f"`{o}`" for o in r["overrides"]) or "(defaults)"
        variant = ",".join(f"{k}={v}" for k, v in r["variant"].items()) or "(as configured)"
        lines.append(
            f"| {r['name']} | {overrides} | {variant} | {r['nfe']} | {r['sample_s']} "
            f"| {_number(r['c2st'])} | {_number(r.get('c2st_cond_mean'))} "
            f"| {_number(r.get('cond_accuracy'))} | {_number(r.get('floor_c2st'))} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of the train config")
    parser.add_argument("--config-name", default="train")
    parser.add_argument("--name", help="the run's name (required unless --table)")
    parser.add_argument(
        "--table", action="store_true", help="--output's rows as Markdown, into --results"
    )
    parser.add_argument(
        "--sweep", action="store_true", help="pixel C2ST of the kept run for each --variants"
    )
    parser.add_argument("--per-class", action="store_true", help="--sweep: C2ST per class too")
    parser.add_argument(
        "--steps", type=int, default=1650, help="optimizer steps (the default job: 150 epochs x 11)"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--time", action="store_true", help="measure ms/step only")
    parser.add_argument(
        "--variants",
        nargs="*",
        default=[""],
        help="sampling variants scored on the trained model: '' 'clip=0' 'method=euler,steps=8'",
    )
    parser.add_argument("--output", type=Path, default=Path("outputs/digits_ablation.jsonl"))
    parser.add_argument("--results", type=Path, default=result_file("digits_ablation"))
    args = parser.parse_args(argv)
    if args.table:
        rows = [json.loads(line) for line in args.output.read_text().splitlines()]
        body = ["## Digits ablation: the scored rows", "", *provenance(), "", markdown(rows)]
        publish(args.results, "digits_ablation", "\n".join(body))
        return rows
    if not args.name:
        parser.error("--name is required")
    logging.getLogger("lightning").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    command = "python -m studies.digits_ablation " + shlex.join(sys.argv[1:])
    head = {"name": args.name, "config": args.config_name, "overrides": args.overrides}
    if args.time:
        rows = [{**head, **ms_per_step(args.config_name, args.overrides)}]
    elif args.sweep:
        variants = [parse_variant(v) for v in args.variants]
        scored = sweep(args.name, variants, args.seed, args.per_class)
        rows = [{**head, "sweep": True, **row} for row in scored]
    else:
        variants = [parse_variant(v) for v in args.variants]
        scored = train_and_score(
            args.name, args.config_name, args.overrides, args.steps, args.seed, variants
        )
        rows = [{**head, "steps": args.steps, **row} for row in scored]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with open(args.output, "a") as file:
        for row in rows:
            row["command"] = command
            file.write(json.dumps(row) + "\n")
            print(json.dumps(row))
    return rows


if __name__ == "__main__":
    main()
