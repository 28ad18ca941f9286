"""Composing flowdiff's Hydra configs from Python, as ``flowdiff-train`` does on the command line.

Used by notebooks, benchmarks and tests to build a run without the CLI:

    cfg = compose_config("train", ["experiment=toy2d", "max_epochs=5"], output_dir="outputs/toy")
    metrics = flowdiff.training.train(cfg)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict

from flowdiff.config.location import config_dir
from flowdiff.config.settings import resolve_settings


def compose_config(
    config_name: str = "train",
    overrides: Sequence[str] = (),
    output_dir: str | Path | None = None,
) -> DictConfig:
    """Compose ``configs/<config_name>.yaml`` with command-line style ``overrides``.

    Hydra's runtime is set up as the CLI would, so ``${hydra:runtime.output_dir}`` and
    ``${hydra:job.config_name}`` resolve when the config is instantiated.

    Args:
        config_name: a top-level config, e.g. ``train`` or ``train_hf_diffusion``.
        overrides: e.g. ``["model/network=unet", "batch_size=64"]``.
        output_dir: the run folder; defaults to ``outputs/<run_name>`` for training configs and
            the working directory for the others (``sample``, ``eval``).

    Returns:
        The composed config, with its ``hydra`` node and its shortcuts resolved
        (:func:`~flowdiff.config.settings.resolve_settings`).
    """
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir(), version_base="1.3"):
        cfg = compose(config_name, overrides=list(overrides), return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.job.config_name = config_name
    if output_dir is None:
        HydraConfig().set_config(cfg)  # run_name may interpolate ${hydra:job.config_name}
        output_dir = Path("outputs") / str(cfg.run_name) if "run_name" in cfg else Path.cwd()
        OmegaConf.set_readonly(cfg.hydra, False)  # set_config froze it
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(output_dir)
    HydraConfig().set_config(cfg)
    return resolve_settings(cfg)
