"""``flowdiff-sample``: draw samples from a trained checkpoint into .npz, PNG and JSON.

flowdiff-sample ckpt_path=outputs/<run>/checkpoints/last.ckpt num_samples=100
flowdiff-sample ckpt_path=... model.sampler.method=rk4 sampling_steps=8
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from flowdiff.cli.errors import run_cli, user_errors
from flowdiff.config.location import config_dir


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="sample")
def _main(cfg: DictConfig) -> None:
    with user_errors(cfg):
        from flowdiff.inference import sample

        folder = sample(cfg)
    print(f"Samples written to {folder}/")


def main() -> None:
    """The console script: user errors print one line (``FLOWDIFF_DEBUG=1`` for the
    traceback) and exit 1."""
    run_cli(_main)


if __name__ == "__main__":
    main()
