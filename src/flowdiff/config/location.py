"""Where flowdiff's Hydra configs live, whatever the working directory."""

from __future__ import annotations

from pathlib import Path

import flowdiff


def config_dir() -> str:
    """``configs/`` packaged inside the wheel, or the repository's top-level ``configs/`` for an
    editable install."""
    package = Path(flowdiff.__file__).resolve().parent
    for candidate in (package / "configs", package.parents[1] / "configs"):
        if (candidate / "train.yaml").is_file():
            return str(candidate)
    raise FileNotFoundError(
        f"flowdiff's configs/ folder was found neither in {package} nor in the repository; "
        "reinstall flowdiff."
    )
