"""What every configured logger receives beyond Lightning's scalars: figures, and at the end of a
run the resolved config and the final metrics for its hyperparameter view.

Lightning's loggers share ``log_metrics`` and ``log_hyperparams`` but not images: each takes a
figure its own way, so this is the one adapter over them (TensorBoard, Weights & Biases, MLflow;
CSV takes none). The logger classes import their libraries lazily, so this module works on a base
install without wandb or mlflow.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from lightning.pytorch.loggers import Logger, MLFlowLogger, TensorBoardLogger, WandbLogger
from matplotlib.figure import Figure
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)

#: Prefix of the final metrics in the hyperparameter views (``final/val/loss``): logged at step
#: 0 by TensorBoard's HParams, they must not add a point to the ``val/loss`` curve.
FINAL_PREFIX = "final/"


def mlflow_logger(tracking_uri: str, **kwargs: Any) -> MLFlowLogger:
    """Lightning's ``MLFlowLogger``, allowing MLflow's local file store (``outputs/<run>/mlruns``).

    MLflow 3 keeps the file store in maintenance mode and refuses it unless
    ``MLFLOW_ALLOW_FILE_STORE=true``; it needs no database and no server, so a run folder can
    hold its own. Set here only for a file store and only when the user has not chosen.
    """
    if "://" not in tracking_uri or tracking_uri.startswith("file:"):
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    return MLFlowLogger(tracking_uri=tracking_uri, **kwargs)


def takes_figures(logger: Logger) -> bool:
    """Whether :func:`log_figure` can send ``logger`` an image."""
    return isinstance(logger, (TensorBoardLogger, WandbLogger, MLFlowLogger))


def log_figure(loggers: Iterable[Logger], tag: str, figure: Figure, step: int) -> None:
    """Send a matplotlib ``figure`` as ``tag`` (e.g. ``val/samples``) at ``step`` to every
    logger that takes images; the others are skipped. Call on rank 0 only."""
    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.experiment.add_figure(tag, figure, step, close=False)
        elif isinstance(logger, WandbLogger):
            import wandb

            logger.experiment.log({tag: wandb.Image(figure), "trainer/global_step": step})
        elif isinstance(logger, MLFlowLogger):
            # MLflow keeps images as run artifacts: one PNG per step under the tag's folder.
            path = f"{tag}/step{step:07d}.png"
            logger.experiment.log_figure(logger.run_id, figure, path)


def resolved_config(cfg: DictConfig) -> dict[str, Any]:
    """The run's config with every interpolation resolved, without Hydra's own node."""
    keys = [key for key in cfg if key != "hydra"]
    return OmegaConf.to_container(OmegaConf.masked_copy(cfg, keys), resolve=True)


def log_run_summary(
    loggers: Iterable[Logger], cfg: DictConfig, metrics: Mapping[str, float], step: int
) -> None:
    """The resolved config (under ``config/``) and the final ``metrics`` (under ``final/``) to
    each logger's hyperparameter view: TensorBoard's HParams tab, the CSV logger's
    ``hparams.yaml`` and last row, the W&B run config and summary, MLflow params and metrics."""
    params = {"config": resolved_config(cfg)}
    final = {f"{FINAL_PREFIX}{key}": float(value) for key, value in metrics.items()}
    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.log_hyperparams(params, metrics=final)  # the HParams tab pairs the two
        else:
            logger.log_hyperparams(params)
            logger.log_metrics(final, step=step)
        if isinstance(logger, WandbLogger):
            logger.experiment.summary.update(final)
        logger.save()


def run_loggers(folder: Path) -> list[Logger]:
    """The image-taking loggers the run in ``folder`` trained with (``logger`` in its
    ``.hydra/config.yaml``), writing into that folder again, for what comes after training
    (``flowdiff-eval``'s figures and metrics); TensorBoard when the run records none. The CSV
    logger is left out: it would rewrite the run's ``csv/metrics.csv``. A logger that cannot be
    rebuilt is skipped with a warning: evaluation does not depend on it."""
    config = folder / ".hydra" / "config.yaml"
    if not config.is_file():
        return [TensorBoardLogger(save_dir=str(folder), name="tensorboard", version="")]
    # The saved config is unresolved; outside the training job its run folder is `folder`.
    text = config.read_text().replace("${hydra:runtime.output_dir}", str(folder))
    cfg = OmegaConf.create(text)
    cfg.run_name = folder.name
    loggers = []
    for name, node in (cfg.get("logger") or {}).items():
        if not node:
            continue
        try:
            logger = instantiate(node)
        except Exception as error:  # a missing extra, an unreachable server...
            log.warning("Not logging to the run's %s logger: %s", name, error)
            continue
        if takes_figures(logger):
            loggers.append(logger)
    return loggers


def close_loggers(loggers: Iterable[Logger]) -> None:
    """Finalize loggers made by :func:`run_loggers` (and end a W&B run)."""
    loggers = list(loggers)
    for logger in loggers:
        logger.finalize("success")
    if any(isinstance(logger, WandbLogger) for logger in loggers):
        import wandb

        wandb.finish()
