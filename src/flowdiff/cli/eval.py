"""``flowdiff-eval``: score checkpoints against held-out data, sweep samplers, compare runs.

flowdiff-eval ckpt_path=outputs/<run>/checkpoints/last.ckpt
flowdiff-eval ckpt_path=... sweep=true                       # quality against NFE
flowdiff-eval 'ckpt_paths=[outputs/fm/checkpoints/last.ckpt,outputs/ddpm/checkpoints/last.ckpt]'
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from flowdiff.cli.errors import run_cli, user_errors
from flowdiff.config.location import config_dir


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="eval")
def _main(cfg: DictConfig) -> None:
    with user_errors(cfg):
        from flowdiff.evaluation.eval_job import evaluate_checkpoints
        from flowdiff.evaluation.report import print_tables

        folder = evaluate_checkpoints(cfg)
    print(f"Evaluation written to {folder}/")
    print_tables(folder)


def main() -> None:
    """The console script: user errors print one line (``FLOWDIFF_DEBUG=1`` for the
    traceback) and exit 1."""
    run_cli(_main)


if __name__ == "__main__":
    main()
