"""Sampling a trained checkpoint to files: what ``flowdiff-sample`` runs."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.progress import Progress

from flowdiff.checkpoints.loading import run_folder
from flowdiff.components import describe
from flowdiff.config.checks import check_job_options
from flowdiff.config.settings import resolve_settings
from flowdiff.errors import ConfigError
from flowdiff.inference.conditions import DEFAULT_NUM_SAMPLES, Conditions, resolve_conditions
from flowdiff.inference.sampler_choice import build_sampler, default_device
from flowdiff.inference.writers import write_arrays, write_figures, write_record
from flowdiff.model.loading import load_model
from flowdiff.model.module import GenerativeModule
from flowdiff.samplers.base import Sampler, SamplerOutput


def generate_kwargs(model: GenerativeModule, guidance_scale: float | None) -> dict[str, Any]:
    """``guidance_scale=`` for :meth:`GenerativeModule.generate` when it is set; unset keeps the
    scale the model was trained with. ``generate`` refuses guidance a network cannot do."""
    return {} if guidance_scale is None else {"guidance_scale": guidance_scale}


def draw(
    model: GenerativeModule,
    sampler: Sampler,
    num_samples: int,
    batch_size: int,
    cond: torch.Tensor | None,
    generator: torch.Generator,
    **generate_options: Any,
) -> tuple[SamplerOutput, int]:
    """All samples in batches of ``batch_size``, with a progress bar.

    Returns:
        The samples ``x`` ``(num_samples, ...)`` (and trajectory ``(T, num_samples, ...)`` when
        the sampler keeps one) on the CPU, with the NFE of the whole run; and the number of
        batches.
    """
    xs, paths, nfe, batches = [], [], 0, 0
    console = Console(stderr=True)
    with Progress(console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task("sampling", total=num_samples)
        for start in range(0, num_samples, batch_size):
            count = min(batch_size, num_samples - start)
            part = None if cond is None else cond[start : start + count]
            out = model.generate(
                count, part, sampler=sampler, generator=generator, **generate_options
            )
            xs.append(out.x.cpu())
            if out.trajectory is not None:
                paths.append(out.trajectory.cpu())
            nfe, batches = nfe + out.nfe, batches + 1
            progress.advance(task, count)
    trajectory = torch.cat(paths, dim=1) if paths else None
    return SamplerOutput(x=torch.cat(xs), nfe=nfe, trajectory=trajectory), batches


def output_folder(ckpt_path: Path, output_dir: str | None) -> Path:
    """``output_dir``, or ``<run>/samples/<date>_<time>/`` beside the checkpoint's run."""
    if output_dir is not None:
        return Path(output_dir)
    return run_folder(ckpt_path) / "samples" / time.strftime("%Y-%m-%d_%H-%M-%S")


def sampler_from_config(model: GenerativeModule, cfg: DictConfig, trajectory: bool) -> Sampler:
    """The model's sampler with the config's ``model.sampler`` overrides (``sampling_steps`` fills
    ``model.sampler.steps``: :mod:`flowdiff.config.settings`).

    Raises:
        ConfigError: the sampler refuses a setting; ``steps=`` spelled ``sampling_steps=`` when
            the user gave that.
    """
    resolve_settings(cfg)
    overrides = OmegaConf.to_container(cfg.model.sampler, resolve=True) if cfg.get("model") else {}
    overrides = dict(overrides or {})
    if trajectory:
        overrides["return_trajectory"] = True
    try:
        return build_sampler(model.sampler, overrides)
    except ValueError as error:
        message = str(error)
        if cfg.get("sampling_steps") is not None:
            message = re.sub(r"(?<![\w.'])steps=", "sampling_steps=", message)
        raise ConfigError(message) from error


def write_outputs(folder: Path, out: SamplerOutput, conditions: Conditions, cfg) -> list[str]:
    """Arrays and figures under ``folder``; returns the names written."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {"x": out.x, "cond": conditions.cond, "real": conditions.real}
    files = write_arrays(folder, {**arrays, "trajectory": out.trajectory}, cfg.h5)
    return files + write_figures(
        folder, out.x, conditions.cond, conditions.real, out.trajectory, cfg.per_sample_png
    )


def sample(cfg: DictConfig) -> Path:
    """Load ``cfg.ckpt_path``, draw samples as ``configs/sample.yaml`` describes and write them.

    Returns:
        The folder holding ``samples.npz``, ``samples.json`` and the figures.
    """
    check_job_options(cfg)
    ckpt_path, device = Path(cfg.ckpt_path), default_device(cfg.device)
    loaded = load_model(ckpt_path, device, ema=cfg.ema)
    model = loaded.model
    sampler = sampler_from_config(model, cfg, cfg.save_trajectory)
    options = generate_kwargs(model, cfg.get("guidance_scale"))
    conditions = resolve_conditions(
        model, ckpt_path, cfg.conditions, cfg.labels, cfg.num_samples, cfg.conditions_key
    )
    count = len(conditions.cond) if conditions.cond is not None else cfg.num_samples
    count = count or DEFAULT_NUM_SAMPLES
    generator = torch.Generator(device).manual_seed(cfg.seed)
    start = time.perf_counter()
    out, batches = draw(
        model, sampler, count, cfg.batch_size, conditions.cond, generator, **options
    )
    seconds = time.perf_counter() - start
    folder = output_folder(ckpt_path, cfg.output_dir)
    files = write_outputs(folder, out, conditions, cfg)
    info = {
        "ckpt_path": str(ckpt_path),
        "weights": loaded.weights,
        "num_samples": count,
        "conditions": conditions.source,
        "guidance_scale": options.get("guidance_scale"),
        "seed": cfg.seed,
        "sampler": describe(sampler),
        "nfe_per_batch": out.nfe // batches,
        "nfe_total": out.nfe,
        "wall_time_s": round(seconds, 3),
        "device": str(device),
        "files": [*files, "samples.json"],
    }
    write_record(folder, info)
    return folder
