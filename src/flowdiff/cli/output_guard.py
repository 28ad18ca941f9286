"""A Hydra callback that guards the run folder before Hydra writes anything into it.

Hydra creates ``hydra.run.dir`` and writes ``.hydra/config.yaml`` before the task starts, so a
check inside ``flowdiff-train`` would come too late to keep an earlier run's records. This
callback runs at ``on_run_start``, before any of that.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from flowdiff.checkpoints.run_folders import keep_earlier_record
from flowdiff.cli.errors import exit_now
from flowdiff.config.checks import check_output_folder
from flowdiff.errors import OutputError


class OutputGuard(Callback):
    """Refuses an unwritable run folder or one holding an earlier run's checkpoints (unless the
    run resumes), and keeps an earlier ``.hydra/`` record as ``.hydra-<time>/`` instead of
    letting Hydra overwrite it."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        HydraConfig.instance().set_config(config)  # lets ${hydra:...} in run.dir resolve
        folder = Path(str(OmegaConf.select(config, "hydra.run.dir")))
        try:
            check_output_folder(folder, resuming=config.get("ckpt_path") is not None)
        except OutputError as error:
            exit_now(error)  # raising would only make Hydra warn and carry on
        subdir = OmegaConf.select(config, "hydra.output_subdir")
        record = folder / str(subdir) if subdir is not None else None
        if record is not None and record.is_dir():
            stamp = time.strftime("%Y-%m-%d_%H-%M-%S", time.localtime(record.stat().st_mtime))
            target = record.with_name(f"{record.name}-{stamp}")
            if not target.exists():
                keep_earlier_record(record, target)
