"""Sampling a trained checkpoint to files: what ``flowdiff-sample`` runs."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from rich.progress import Progress

from flowdiff.components import describe
from flowdiff.module import GenerativeModule
from flowdiff.plotting import comparison_figure, save_figure
from flowdiff.samplers.base import Sampler


def build_sampler(
    trained: Sampler, overrides: dict[str, Any], sampling_steps: int | None
) -> Sampler:
    """The trained sampler with ``overrides`` applied, or a new one when they name a
    ``_target_``; ``sampling_steps`` sets whichever argument the sampler calls its steps."""
    settings = {key: value for key, value in overrides.items() if value is not None}
    config = settings if "_target_" in settings else {**describe(trained), **settings}
    sampler_cls = instantiate({"_target_": config["_target_"], "_partial_": True}).func
    if sampling_steps is not None:
        config[sampler_cls.steps_key] = sampling_steps
    try:
        return instantiate(config)
    except Exception as error:  # Hydra wraps the TypeError of an unknown argument
        raise ValueError(
            f"Cannot build the sampler {config['_target_']} with {settings}: {error}. Set only "
            "the options of that sampler (see configs/model/sampler/)."
        ) from error


def default_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def class_labels(model: GenerativeModule, labels: list[int] | None, count: int):
    """Labels ``(count,)`` for a class-conditional network (cycling all classes by default),
    or ``None`` for other networks."""
    num_classes = getattr(model.network, "hparams", {}).get("num_classes", 0)
    if not num_classes:
        if labels is not None:
            raise ValueError("labels were given but the model is not class-conditional.")
        return None
    chosen = torch.as_tensor(labels if labels is not None else range(num_classes))
    if chosen.min() < 0 or chosen.max() >= num_classes:
        raise ValueError(f"labels must lie in [0, {num_classes}); got {chosen.tolist()}.")
    return chosen.repeat((count + len(chosen) - 1) // len(chosen))[:count]


def draw(
    model, sampler, num_samples, batch_size, cond, generator, guidance_scale=None
) -> tuple[torch.Tensor, int]:
    """All samples ``(num_samples, ...)`` in batches, with a progress bar; returns the total NFE.

    ``guidance_scale`` ``None`` keeps the scale the model was trained with."""
    chunks, nfe = [], 0
    with Progress(transient=True) as progress:
        task = progress.add_task("sampling", total=num_samples)
        for start in range(0, num_samples, batch_size):
            count = min(batch_size, num_samples - start)
            part = None if cond is None else cond[start : start + count]
            out = model.generate(
                count, part, sampler=sampler, generator=generator, guidance_scale=guidance_scale
            )
            chunks.append(out.x.cpu())
            nfe += out.nfe
            progress.advance(task, count)
    return torch.cat(chunks), nfe


def output_folder(ckpt_path: Path, output_dir: str | None) -> Path:
    if output_dir is not None:
        return Path(output_dir)
    run = ckpt_path.parent.parent if ckpt_path.parent.name == "checkpoints" else ckpt_path.parent
    return run / "samples" / time.strftime("%Y-%m-%d_%H-%M-%S")


def write_outputs(folder: Path, samples: torch.Tensor, cond, info: dict[str, Any]) -> None:
    """``samples.npz`` (x, cond), ``samples.png`` and ``samples.json`` under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {"x": samples.numpy()}
    if cond is not None:
        arrays["cond"] = cond.cpu().numpy()
    np.savez(folder / "samples.npz", **arrays)
    save_figure(comparison_figure(samples, cond=cond), folder / "samples.png")
    (folder / "samples.json").write_text(json.dumps(info, indent=2) + "\n")


def sample(cfg: DictConfig) -> Path:
    """Load ``cfg.ckpt_path``, draw ``cfg.num_samples`` and write them; returns the folder."""
    if cfg.num_samples < 1 or cfg.batch_size < 1:
        raise ValueError("num_samples and batch_size must be at least 1.")
    ckpt_path = Path(cfg.ckpt_path)
    device = default_device(cfg.device)
    model = GenerativeModule.load_from_checkpoint(ckpt_path, map_location=device)
    overrides = OmegaConf.to_container(cfg.model.sampler, resolve=True) if cfg.get("model") else {}
    sampler = build_sampler(model.sampler, overrides or {}, cfg.sampling_steps)
    cond = class_labels(model, cfg.labels, cfg.num_samples)
    generator = torch.Generator(device).manual_seed(cfg.seed)
    start = time.perf_counter()
    guidance_scale = cfg.get("guidance_scale")
    samples, nfe = draw(
        model, sampler, cfg.num_samples, cfg.batch_size, cond, generator, guidance_scale
    )
    info = {
        "ckpt_path": str(ckpt_path),
        "num_samples": cfg.num_samples,
        "seed": cfg.seed,
        "sampler": describe(sampler),
        "guidance_scale": (
            model.hparams.guidance_scale if guidance_scale is None else guidance_scale
        ),
        "nfe_per_batch": nfe // max(1, -(-cfg.num_samples // cfg.batch_size)),
        "nfe_total": nfe,
        "wall_time_s": round(time.perf_counter() - start, 3),
        "device": str(device),
    }
    folder = output_folder(ckpt_path, cfg.output_dir)
    write_outputs(folder, samples, cond, info)
    return folder
