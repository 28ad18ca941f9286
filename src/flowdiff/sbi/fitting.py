"""The estimator's run around the shared training code: its quiet defaults, the checks of the
split before training and of the result after it."""

from __future__ import annotations

import math
import os
from pathlib import Path

from lightning.pytorch.callbacks import EarlyStopping
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

from flowdiff.checkpoints.run_folders import nearest_existing
from flowdiff.errors import ConfigError, DataError, NonFiniteError, OutputError
from flowdiff.sbi.prior import box_bounds

#: What PosteriorEstimator(theta_transform=...) takes.
THETA_TRANSFORMS = ("none", "logit")

#: Fewest simulations in each of the training and validation splits.
MIN_PER_SPLIT = 2


def lean_overrides(figures: bool, tensorboard: bool, progress: bool) -> list[str]:
    """This use's defaults on top of ``data=arrays`` (which stops early on the validation loss
    and restores the best weights): one best checkpoint, quiet early stopping, and no figures,
    logger or run records unless asked."""
    overrides = [
        "callbacks.early_stopping.verbose=false",
        "callbacks.model_checkpoint.save_top_k=1",
        "+trainer.enable_model_summary=false",
    ]
    if not figures:
        overrides += ["callbacks.sample_figures=null", "callbacks.run_records=null"]
    if not tensorboard:
        overrides += ["~logger", "callbacks.lr_monitor=null"]
    if not progress:
        overrides += ["callbacks.progress_bar=null"]
    return overrides


def output_path(output_dir) -> Path | None:
    """The estimator's ``output_dir`` as a path (``None``: a temporary folder per fit)."""
    if output_dir is None or (isinstance(output_dir, (str, os.PathLike)) and str(output_dir)):
        return None if output_dir is None else Path(output_dir)
    raise ConfigError(f"output_dir={output_dir!r} must be a folder path, or None (temporary).")


def check_output_dir(folder: Path) -> None:
    """A run folder that can be made and holds no earlier fit's checkpoints, said in the
    estimator's words (the command line's names ``hydra.run.dir`` and ``run_name``).

    Raises:
        OutputError: naming ``output_dir`` and the fix.
    """
    existing = nearest_existing(folder)
    if not existing.is_dir():
        raise OutputError(
            f"output_dir={str(folder)!r} cannot be made: {str(existing)!r} is a file; give "
            "PosteriorEstimator another output_dir (or None for a temporary folder)."
        )
    if any((folder / "checkpoints").glob("*.ckpt")):
        raise OutputError(
            f"output_dir={str(folder)!r} already holds the checkpoints of an earlier fit; give "
            "another output_dir (or None for a temporary folder) so nothing is overwritten."
        )


def drop_resume_checkpoint(cfg: DictConfig, output_dir: Path | None) -> None:
    """A given ``output_dir`` is checked (:func:`check_output_dir`). No ``last.ckpt`` for a fit
    in a temporary folder: the folder is removed when ``fit`` returns or fails, so the file
    could never be resumed from, and at 1,000 simulations (epochs of 3 steps) rewriting it
    after every epoch took a fifth of the fit. The best checkpoint stays: early stopping
    restores its weights. A run folder that stays keeps ``last.ckpt``."""
    if output_dir is not None:
        check_output_dir(output_dir)
        return
    with open_dict(cfg):
        cfg.callbacks.last_checkpoint = None


def override_text(key: str, cfg: DictConfig) -> str:
    """``key=value`` as the command line writes the value of ``key`` in ``cfg``."""
    value = OmegaConf.select(cfg, key)
    if isinstance(value, ListConfig):
        value = OmegaConf.to_container(value)
    text = "null" if value is None else str(value).lower() if isinstance(value, bool) else value
    return f"{key}={str(text).replace(' ', '')}"


def check_split(count: int, val_fraction: float) -> None:
    """Enough simulations for a validation split and a training split of
    :data:`MIN_PER_SPLIT` each (fewer gives a model of NaNs: one row has no spread).

    Raises:
        DataError: naming the count, the fraction and the fix.
    """
    n_val = max(1, round(val_fraction * count))
    if n_val < MIN_PER_SPLIT or count - n_val < MIN_PER_SPLIT:
        need = max(2 * MIN_PER_SPLIT, math.ceil((MIN_PER_SPLIT - 0.5) / val_fraction))
        raise DataError(
            f"theta and x hold {count} simulations: too few to hold out val_fraction="
            f"{val_fraction} for early stopping ({n_val} for validation, {count - n_val} for "
            f"training; each needs at least {MIN_PER_SPLIT}). Simulate at least {need}, or "
            "raise val_fraction."
        )


def check_trained(trainer) -> None:
    """A fit whose validation loss was never finite has no model to return.

    Raises:
        NonFiniteError: naming the loss and what to change.
    """
    stoppers = [c for c in trainer.callbacks if isinstance(c, EarlyStopping)]
    if stoppers:
        best = stoppers[0].best_score
        finite = best is not None and math.isfinite(float(best))
    else:
        loss = trainer.callback_metrics.get("val/loss")
        finite = loss is not None and math.isfinite(float(loss))
    if not finite:
        raise NonFiniteError(
            "PosteriorEstimator.fit: the validation loss was never finite, so there is no "
            "trained posterior to return. Check the simulations for extreme values (rescale "
            "theta or x), lower base_lr, or simulate more."
        )


def check_theta_transform(theta_transform, prior) -> None:
    """``theta_transform`` is one of :data:`THETA_TRANSFORMS`; ``"logit"`` needs a box prior."""
    if theta_transform not in THETA_TRANSFORMS:
        raise ConfigError(
            f"theta_transform={theta_transform!r}; choose 'none' or 'logit' (parameters learned "
            "through the logit of a box prior's bounds)."
        )
    if theta_transform == "logit" and box_bounds(prior) is None:
        raise ConfigError(
            f"theta_transform='logit' needs a prior whose support is a box with finite bounds "
            f"(a uniform prior, sbi's BoxUniform); the prior is {type(prior).__name__}. Give "
            "such a prior or theta_transform='none'."
        )


def apply_bounds(cfg: DictConfig, prior, theta_transform: str, theta_shape) -> list[str]:
    """With ``theta_transform="logit"``, set ``data.bounds`` to the prior's box (see
    :func:`~flowdiff.sbi.prior.box_bounds`): parameters are learned through a logit and drawn
    inside it, with no draws to reject. Returns the override that says so (none otherwise)."""
    if theta_transform != "logit":
        return []
    box = box_bounds(prior, theta_shape)
    if box is None:
        raise ConfigError(
            f"theta_transform='logit': the prior's box does not fit parameters of shape "
            f"{list(theta_shape)}; give a prior over them or theta_transform='none'."
        )
    with open_dict(cfg):
        cfg.data.bounds = [box[0].tolist(), box[1].tolist()]
    return [override_text("data.bounds", cfg)]
