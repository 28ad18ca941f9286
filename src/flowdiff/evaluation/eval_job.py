"""What ``flowdiff-eval`` runs: evaluate one or several checkpoints, optionally over a sampler
sweep, and write tables, figures and a side-by-side comparison."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from flowdiff.checkpoints.loading import build_datamodule, run_folder
from flowdiff.config.checks import check_job_options
from flowdiff.config.value_types import check_fields
from flowdiff.evaluation.api import Evaluation, likelihood_metrics, sample_and_score
from flowdiff.evaluation.figures import run_figures, write_figures
from flowdiff.evaluation.posterior_calibration import CalibrationOptions, calibrate
from flowdiff.evaluation.reference import reference_from
from flowdiff.evaluation.report import columns_of, write_json, write_table
from flowdiff.evaluation.suite import MetricOptions, MetricSuite
from flowdiff.evaluation.sweep import run_sweep, sampler_label
from flowdiff.inference.sample_job import generate_kwargs, sampler_from_config
from flowdiff.inference.sampler_choice import default_device
from flowdiff.metrics.likelihood import log_likelihood
from flowdiff.model.loading import load_model
from flowdiff.plotting import save_figure, sweep_figure
from flowdiff.training.loggers import close_loggers, run_loggers

#: Leading columns of the tables; metric columns follow.
ROW_KEYS = (
    "run",
    "family",
    "network",
    "weights",
    "guidance_scale",
    "kind",
    "steps",
    "nfe",
    "seconds",
)


def checkpoints(cfg: DictConfig) -> list[Path]:
    """``ckpt_paths`` (several) or ``ckpt_path`` (one), each checked to exist."""
    paths = [Path(p) for p in (cfg.get("ckpt_paths") or [])]
    if cfg.get("ckpt_path"):
        paths.insert(0, Path(cfg.ckpt_path))
    if not paths:
        raise ValueError(
            "Give ckpt_path=<run>/checkpoints/last.ckpt or ckpt_paths=[a.ckpt,b.ckpt]."
        )
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(
                f"ckpt_path={str(path)!r} does not exist; point it at a .ckpt file."
            )
    return paths


def sweep_settings(cfg: DictConfig, family: str) -> list[dict[str, Any]]:
    """The sampler settings of a sweep: ``sweep=true`` takes ``sweeps.<family>``; a list of
    settings is used as given; ``false`` sweeps nothing."""
    sweep = cfg.get("sweep")
    if isinstance(sweep, ListConfig):
        return OmegaConf.to_container(sweep, resolve=True)
    if not sweep:
        return []
    return OmegaConf.to_container(cfg.sweeps[family], resolve=True)


def output_root(cfg: DictConfig, ckpts: list[Path]) -> Path:
    """``output_dir``; else ``<run>/eval/<time>/`` for one checkpoint, ``outputs/eval/<time>/``
    for several."""
    if cfg.get("output_dir"):
        return Path(cfg.output_dir)
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    return (
        run_folder(ckpts[0]) / "eval" / stamp if len(ckpts) == 1 else Path("outputs/eval") / stamp
    )


def run_name(ckpt: Path, names: list[str], index: int) -> str:
    return names[index] if index < len(names) else run_folder(ckpt).name


@dataclass
class RunResult:
    """One checkpoint's evaluation: the default sampler's row, the sweep's rows, the floor."""

    row: dict[str, Any]
    sweep: list[dict[str, Any]]
    floor: dict[str, float]
    figures: dict[str, Any]
    evaluation: Evaluation
    global_step: int


def score_checkpoint(cfg: DictConfig, ckpt: Path, name: str) -> RunResult:
    """Sample and score one checkpoint with its (overridden) sampler and over the sweep."""
    loaded = load_model(ckpt, default_device(cfg.device), ema=cfg.ema)
    model = loaded.model
    reference = reference_from(build_datamodule(ckpt), model)
    suite = MetricSuite(reference, MetricOptions(**cfg.metrics))
    sampler = sampler_from_config(model, cfg, trajectory=False)
    options = generate_kwargs(model, cfg.get("guidance_scale"))
    sizes = (cfg.num_samples, cfg.batch_size, cfg.seed)
    main = sample_and_score(model, suite, sampler, *sizes, **options)
    floor = suite.floor()
    nll = {}
    if cfg.nll.enabled:
        nll = likelihood_metrics(model, reference, cfg.nll.num_samples, **cfg.nll.options)
    main.calibration = calibrate(model, reference, CalibrationOptions(**cfg.get("calibration", {})))
    if main.calibration is not None:
        nll.update(main.calibration.metrics())
    common = {"run": name, "family": model.path.family, "network": type(model.network).__name__}
    common["weights"] = loaded.weights
    if options:
        common["guidance_scale"] = options["guidance_scale"]
    kind, steps = sampler_label(sampler)
    row = {**common, "kind": kind, "steps": steps, "nfe": main.nfe}
    row.update({"seconds": round(main.seconds, 3), **main.metrics, **nll})
    settings = sweep_settings(cfg, model.path.family)
    sweep = [{**common, **r} for r, _ in run_sweep(model, suite, settings, *sizes, **options)]
    figures = run_figures(model, main, reference, run_folder(ckpt), sweep, floor)
    return RunResult(row, sweep, floor, figures, main, loaded.global_step)


def _run_loggers(cfg: DictConfig, ckpt: Path) -> list:
    """The loggers the checkpoint's run trained with (TensorBoard by default), unless
    ``tensorboard=false``."""
    return run_loggers(run_folder(ckpt)) if cfg.tensorboard else []


def floor_row_of(result: RunResult) -> dict[str, Any]:
    """The table row of the real-vs-real floor, under the run's name."""
    return {"run": result.row["run"], "kind": "real vs real", **result.floor}


def write_checkpoint_results(cfg: DictConfig, ckpt: Path, result: RunResult, folder: Path):
    """Tables, figures and ``metrics.json`` of one checkpoint under ``folder``; key figures
    and metrics also as ``eval/*`` to the loggers the run trained with."""
    folder.mkdir(parents=True, exist_ok=True)
    loggers = _run_loggers(cfg, ckpt)
    files = write_figures(result.figures, folder, loggers, result.global_step)
    scalars = {f"eval/{k}": v for k, v in result.row.items() if isinstance(v, float)}
    for logger in loggers:
        logger.log_metrics(scalars, step=result.global_step)
    close_loggers(loggers)
    floor_row = floor_row_of(result)
    if result.sweep:
        rows = [*result.sweep, floor_row]
        write_table(folder, "sweep", rows, columns_of(rows, ROW_KEYS))
    rows = [result.row, floor_row]
    write_table(folder, "metrics", rows, columns_of(rows, ROW_KEYS))
    record = {"ckpt_path": str(ckpt), **result.row, "floor": result.floor}
    record.update(sampler=result.evaluation.sampler, sweep=result.sweep, files=files)
    write_json(folder / "metrics.json", record)


def check_options(cfg: DictConfig) -> None:
    """The evaluation's settings, before any checkpoint is loaded: counts, seed and switches
    (:func:`~flowdiff.config.checks.check_job_options`), and the types of ``metrics``,
    ``calibration`` and ``nll.options`` against the options they build."""
    check_job_options(cfg)
    for key, takes in (("metrics", MetricOptions), ("calibration", CalibrationOptions)):
        if isinstance(cfg.get(key), DictConfig):
            check_fields(cfg[key], takes, key)
    if isinstance(cfg.get("nll"), DictConfig) and isinstance(cfg.nll.get("options"), DictConfig):
        check_fields(cfg.nll.options, log_likelihood, "nll.options")


def evaluate_checkpoints(cfg: DictConfig) -> Path:
    """Evaluate every checkpoint of ``cfg``; with several, also ``comparison.md``/``.csv``
    side by side (and ``comparison_sweep`` for sweeps). Returns the output folder."""
    check_options(cfg)
    ckpts = checkpoints(cfg)
    root = output_root(cfg, ckpts)
    names = list(cfg.get("names") or [])
    results = []
    for index, ckpt in enumerate(ckpts):
        name = run_name(ckpt, names, index)
        result = score_checkpoint(cfg, ckpt, name)
        write_checkpoint_results(cfg, ckpt, result, root if len(ckpts) == 1 else root / name)
        results.append(result)
    if len(results) > 1:
        write_comparison(root, results)
    return root


def write_comparison(root: Path, results: list[RunResult]) -> None:
    """``comparison.md``/``.csv``: each run's default-sampler row and its floor; with sweeps,
    ``comparison_sweep.md``/``.csv``/``.png`` over all runs."""
    rows = [row for r in results for row in (r.row, floor_row_of(r))]
    write_table(root, "comparison", rows, columns_of(rows, ROW_KEYS))
    sweeps = [row for r in results for row in r.sweep]
    if sweeps:
        write_table(root, "comparison_sweep", sweeps, columns_of(sweeps, ROW_KEYS))
        metrics = [m for m in results[0].floor if all(m in r.floor for r in results)]
        floors = {r.row["run"]: r.floor for r in results}
        save_figure(sweep_figure(sweeps, metrics, floors), root / "comparison_sweep.png")
