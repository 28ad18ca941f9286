"""Build everything from a composed config and train: what ``flowdiff-train`` runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from lightning.pytorch.callbacks import (
    Callback,
    DeviceStatsMonitor,
    EarlyStopping,
    LearningRateMonitor,
    ProgressBar,
    WeightAveraging,
)
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_info
from omegaconf import DictConfig, OmegaConf

from flowdiff.checkpoints.atomic_io import AtomicCheckpointIO
from flowdiff.checkpoints.reading import trusted
from flowdiff.checkpoints.run_folders import discard_failed_start, restore_earlier_record
from flowdiff.compat import lightning_leaf_specs
from flowdiff.config.checks import preflight
from flowdiff.config.hardware import fit_to_hardware
from flowdiff.config.settings import resolve_settings
from flowdiff.errors import InputTypeError
from flowdiff.model.module import GenerativeModule
from flowdiff.training.callbacks import DivergenceGuard, RunRecords, RunSummary
from flowdiff.training.callbacks.records import stop_reason
from flowdiff.training.callbacks.run_identity import run_context
from flowdiff.training.no_profiler import NoProfiler
from flowdiff.training.quiet import lightning_info_off, without_model_summary
from flowdiff.training.resume import prepare_resume, weights_only_note

#: Lightning callbacks that only write to a logger and raise when the trainer has none.
LOGGER_ONLY_CALLBACKS = (LearningRateMonitor, DeviceStatsMonitor)


def _hook_order(callback: Callback) -> int:
    if isinstance(callback, WeightAveraging):
        return 0
    if isinstance(callback, (EarlyStopping, DivergenceGuard)):
        return 1
    return 2


def order_callbacks(callbacks: list[Callback]) -> list[Callback]:
    """Weight averaging (EMA) first, then the stopping callbacks, then the rest (stable).

    Lightning calls callbacks' hooks in list order. When validation starts, the EMA weights must
    be swapped in before anything samples; when training ends, EMA copies its weights into the
    model, then early stopping may restore the best checkpoint's, and only then is the final
    sample figure drawn. (Lightning itself moves checkpoint callbacks to the end.)
    """
    return sorted(callbacks, key=_hook_order)


def without_logger_callbacks(callbacks: list[Callback]) -> list[Callback]:
    """``callbacks`` less those that only report to a logger and refuse a trainer without one
    (Lightning's ``LearningRateMonitor`` and ``DeviceStatsMonitor``): with ``logger=null`` they
    have nowhere to write, so they follow the loggers out rather than stop the run."""
    kept = [c for c in callbacks if not isinstance(c, LOGGER_ONLY_CALLBACKS)]
    for callback in callbacks:
        if callback not in kept:
            rank_zero_info(f"No logger: {type(callback).__name__} left out (it reports to one).")
    return kept


def build(
    cfg: DictConfig,
    datamodule: L.LightningDataModule | None = None,
    *,
    quiet: bool = False,
    **parts: Any,
) -> tuple[L.LightningDataModule, GenerativeModule, L.Trainer]:
    """Instantiate data, model and trainer (with its callbacks and loggers) from ``cfg``.

    The trainer's precision and synchronised batch norm fall back to what the machine supports
    (see :func:`flowdiff.config.hardware.fit_to_hardware`). Without a progress-bar callback
    (``callbacks.progress_bar=null``) the run has no bar, rather than Lightning's default one.
    With loggers (``logger=[tensorboard,csv,wandb,mlflow]``, any of them), a :class:`RunSummary`
    sends them the resolved config and the final metrics when fitting ends.

    Args:
        cfg: a composed training config.
        datamodule: used instead of instantiating ``cfg.data`` (e.g. data already in memory).
        quiet: no model summary unless ``trainer.enable_model_summary`` asks for one
            (:mod:`flowdiff.training.quiet`).
        **parts: objects used instead of the model's configured ones (``network=``,
            ``path=``, ``sampler=``).
    """
    lightning_leaf_specs()  # no LeafSpec FutureWarning from Lightning on torch 2.10+
    datamodule = datamodule if datamodule is not None else instantiate(cfg.data)
    model = instantiate(cfg.model, **parts)
    callbacks = order_callbacks(
        [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c]
    )
    loggers = [instantiate(c) for c in (cfg.get("logger") or {}).values() if c]
    if loggers:
        callbacks.append(RunSummary(cfg))
    else:
        callbacks = without_logger_callbacks(callbacks)
    checkpoint_io = AtomicCheckpointIO(trusted(cfg.get("trust_checkpoint")))
    trainer_cfg = fit_to_hardware(cfg.trainer)
    if quiet:
        trainer_cfg = without_model_summary(trainer_cfg)
    if not any(isinstance(callback, ProgressBar) for callback in callbacks):
        trainer_cfg.enable_progress_bar = False
    no_profiler = {} if trainer_cfg.get("profiler") else {"profiler": NoProfiler()}
    trainer = instantiate(
        trainer_cfg,
        callbacks=callbacks,
        logger=loggers or False,
        plugins=[checkpoint_io],
        **no_profiler,  # none asked for: Lightning's pass-through one, cheaper per hook call
    )
    for callback in callbacks:
        if isinstance(callback, RunRecords):
            callback.context = run_context(cfg)
    return datamodule, model, trainer


def fit(
    cfg: DictConfig,
    datamodule: L.LightningDataModule | None = None,
    *,
    quiet: bool = True,
    **parts: Any,
) -> tuple[GenerativeModule, L.Trainer]:
    """Seed, build (see :func:`build` for ``datamodule`` and ``parts``) and fit; resume from
    ``cfg.ckpt_path`` when set (``last``: the run folder's latest checkpoint), after checking it
    fits the model and was trained with the configured optimizer and schedule
    (:mod:`flowdiff.training.resume`; ``resume_weights_only=true`` takes its weights only). A run
    that fails before its first training step leaves no run folder behind
    (:func:`~flowdiff.checkpoints.run_folders.discard_failed_start`), and a resume that does
    keeps the run's earlier ``.hydra/`` record.

    With ``quiet`` (the default from Python) Lightning's announcements, the seed line and the
    model summary are left out: the progress bar, warnings and the closing "Training ended"
    line remain (:mod:`flowdiff.training.quiet`); ``flowdiff-train`` shows them all.

    Returns:
        The trained module (the weights early stopping or EMA left in it) and its trainer.
    """
    trainer, start_step = None, 0
    try:
        resolve_settings(cfg)
        preflight(cfg)
        with lightning_info_off(quiet):
            L.seed_everything(cfg.seed, workers=True, verbose=not quiet)
            datamodule, model, trainer = build(cfg, datamodule, quiet=quiet, **parts)
            ckpt_path, start_step = prepare_resume(cfg, model)
            if weights_only_note(cfg):
                rank_zero_info(weights_only_note(cfg))
            trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path)
        _finish_wandb(trainer)
    except BaseException:
        if trainer is None or (trainer.global_step <= start_step and trainer.is_global_zero):
            _discard_failed_start(cfg)
        raise
    rank_zero_info(f"Training ended at epoch {trainer.current_epoch}: {stop_reason(trainer)}")
    return model, trainer


def train(cfg: DictConfig, quiet: bool = True) -> dict[str, float]:
    """What ``flowdiff-train`` runs (with ``quiet=False``): :func:`fit` the config's data and
    model, and say where the run folder is.

    Returns:
        The trainer's final callback metrics (e.g. ``val/loss``) as floats.
    """
    if not isinstance(cfg, DictConfig):
        raise InputTypeError(f"cfg must be a config from flowdiff.compose_config(), not {cfg!r}.")
    _, trainer = fit(cfg, quiet=quiet)
    folder = _run_folder(cfg)
    if folder is not None:  # a sweep's jobs: outputs/multirun/<date>/<time>/<job number>/
        rank_zero_info(f"Run folder: {folder}")
    return {key: float(value) for key, value in trainer.callback_metrics.items()}


def _discard_failed_start(cfg: DictConfig) -> None:
    """A run that failed before its first step leaves no folder that looks like a run."""
    folder = _run_folder(cfg)
    if folder is not None:
        # a resume that failed before its first step keeps the run's earlier .hydra/ record
        restore_earlier_record(folder, OmegaConf.select(cfg, "hydra.output_subdir") or ".hydra")
        discard_failed_start(folder)


def _run_folder(cfg: DictConfig) -> Path | None:
    """The run folder: the config's own (``compose_config``), else that of the Hydra job
    running now."""
    folder = OmegaConf.select(cfg, "hydra.runtime.output_dir", default=None)
    if folder is None and HydraConfig.initialized():
        folder = HydraConfig.get().runtime.output_dir
    return None if folder is None else Path(folder)


def _finish_wandb(trainer: L.Trainer) -> None:
    """End the W&B run (Lightning leaves it open), so that the next ``fit`` in this process
    starts its own instead of attaching to this one."""
    if any(isinstance(logger, WandbLogger) for logger in trainer.loggers):
        import wandb

        wandb.finish()
