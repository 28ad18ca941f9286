"""``flowdiff-train``: train a generative model from a Hydra config.

flowdiff-train                                         # flow matching on digits
flowdiff-train --config-name=train_hf_diffusion         # DDPM/DDIM on digits
flowdiff-train model.sampler.method=dopri5 max_epochs=50 trainer=cpu
flowdiff-train ckpt_path=outputs/<run>/checkpoints/last.ckpt   # resume in outputs/<run>/
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from flowdiff.cli.errors import run_cli, user_errors
from flowdiff.config.location import config_dir


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="train")
def _main(cfg: DictConfig) -> float | None:
    with user_errors(cfg):
        from flowdiff.training import train

        metrics = train(cfg, quiet=False)
    return metrics.get("val/loss")


def main() -> None:
    """The console script: user errors print one line (``FLOWDIFF_DEBUG=1`` for the
    traceback) and exit 1."""
    run_cli(_main)


if __name__ == "__main__":
    main()
