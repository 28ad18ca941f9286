"""Synthetic detector events in the HDF5 layout ``data=hdf5`` reads, for tests and benchmarks.

``input`` ``(N, 2, n_sensors)``: per-sensor charge (``npe``) and first-hit time; ``label``
``(N, 6)``: energy, zenith, azimuth and vertex x, y, z; geometry ``xpmt``, ``ypmt``, ``zpmt``
``(n_sensors,)``. Charge falls with the distance from the vertex and grows with energy; sensors
with no charge have an infinite time, as in real files, so ``log1p`` and inf replacement matter.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np


def make_events(count: int, n_sensors: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Arrays of ``count`` events over ``n_sensors`` sensors (float32)."""
    geometry = rng.uniform(-1.0, 1.0, (3, n_sensors))
    energy = rng.lognormal(1.0, 0.5, count)
    zenith = np.arccos(rng.uniform(-1, 1, count))
    azimuth = rng.uniform(0, 2 * np.pi, count)
    vertex = rng.uniform(-0.8, 0.8, (count, 3))
    distance = np.linalg.norm(vertex[:, :, None] - geometry[None], axis=1)  # (N, n_sensors)
    expected = energy[:, None] * 3.0 * np.exp(-3.0 * distance)
    npe = rng.poisson(expected).astype(np.float32)
    time = (10.0 * distance + rng.exponential(1.0, distance.shape)).astype(np.float32)
    time[npe == 0] = np.inf
    labels = np.stack([energy, zenith, azimuth, *vertex.T], axis=1).astype(np.float32)
    return {
        "input": np.stack([npe, time], axis=1),
        "label": labels,
        "xpmt": geometry[0].astype(np.float32),
        "ypmt": geometry[1].astype(np.float32),
        "zpmt": geometry[2].astype(np.float32),
    }


def write_events(file: str | Path, count: int, n_sensors: int = 64, seed: int = 0) -> Path:
    """Write ``count`` events to ``file`` (HDF5, SWMR-capable format); returns the path."""
    file = Path(file)
    file.parent.mkdir(parents=True, exist_ok=True)
    arrays = make_events(count, n_sensors, np.random.default_rng(seed))
    with h5py.File(file, "w", libver="latest") as handle:
        for key, value in arrays.items():
            handle.create_dataset(key, data=value, chunks=value.ndim > 1 or None)
    return file
