"""Writing drawn samples: ``samples.npz``, optionally ``samples.h5``, PNG figures, and a JSON
record of how they were drawn; each file atomically (complete or absent, never truncated: see
:func:`~flowdiff.checkpoints.atomic_io.atomic_write`), and a full disk is one line naming it."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor

from flowdiff.checkpoints.atomic_io import atomic_write
from flowdiff.plotting import (
    comparison_figure,
    pairplot_figure,
    save_figure,
    save_images,
    trajectory_figure,
)


def write_arrays(folder: Path, arrays: dict[str, Tensor | None], h5: bool) -> list[str]:
    """``samples.npz`` (and ``samples.h5`` when ``h5``) holding the non-``None`` ``arrays``,
    e.g. ``x`` ``(N, ...)``, ``cond``, ``real``, ``trajectory`` ``(T, N, ...)``."""
    kept = {key: value.detach().cpu().numpy() for key, value in arrays.items() if value is not None}
    atomic_write(folder / "samples.npz", lambda file: np.savez(file, **kept), "samples")
    written = ["samples.npz"]
    if h5:
        try:
            import h5py
        except ImportError as error:
            raise ImportError("h5=true needs h5py: pip install h5py") from error
        buffer = io.BytesIO()
        with h5py.File(buffer, "w") as file:
            for key, value in kept.items():
                file.create_dataset(key, data=value, compression="gzip")
        atomic_write(folder / "samples.h5", lambda file: file.write(buffer.getvalue()), "samples")
        written.append("samples.h5")
    return written


def write_figures(
    folder: Path,
    samples: Tensor,
    cond: Tensor | None,
    real: Tensor | None,
    trajectory: Tensor | None,
    per_sample: bool,
) -> list[str]:
    """``samples.png`` (grid, scatter or histograms, next to ``real`` when given), for vectors
    ``corner.png`` (a corner plot, over ``real`` when given), one PNG per image under
    ``images/`` when ``per_sample``, and ``trajectories.png`` for 2-D data."""
    grid_cond = cond if cond is not None and cond.dim() == 1 else None
    save_figure(comparison_figure(samples, real, grid_cond), folder / "samples.png")
    written = ["samples.png"]
    if samples.dim() == 2 and samples.shape[1] >= 2:
        figure = pairplot_figure({"generated": samples}, reference=real)
        save_figure(figure, folder / "corner.png")
        written.append("corner.png")
    if per_sample and samples.dim() == 4:
        save_images(samples, folder / "images")
        written.append("images/")
    if trajectory is not None and samples.dim() == 2 and samples.shape[1] == 2:
        save_figure(trajectory_figure(trajectory), folder / "trajectories.png")
        written.append("trajectories.png")
    return written


def write_record(folder: Path, info: dict[str, Any]) -> None:
    """``samples.json``: NFE, wall time, the resolved sampler and the options used."""
    text = (json.dumps(info, indent=2) + "\n").encode()
    atomic_write(folder / "samples.json", lambda file: file.write(text), "sample record")
