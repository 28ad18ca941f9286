"""``flowdiff-sample``: draw samples from a trained checkpoint into .npz, PNG and JSON.

flowdiff-sample ckpt_path=outputs/<run>/checkpoints/last.ckpt num_samples=100
flowdiff-sample ckpt_path=... model.sampler.method=rk4 sampling_steps=8
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from flowdiff.cli.config_dir import config_dir


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="sample")
def main(cfg: DictConfig) -> None:
    from flowdiff.sampling import sample

    folder = sample(cfg)
    print(f"Samples written to {folder}/")


if __name__ == "__main__":
    main()
