"""The conditions to sample with: class labels, a ``.npy``/``.npz`` file of vectors or context
images, or the validation set's own conditions — checked against the model before sampling."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from flowdiff.checkpoints.loading import build_datamodule, collect
from flowdiff.model.module import GenerativeModule

#: Samples drawn when neither ``num_samples`` nor a conditions file sets the number.
DEFAULT_NUM_SAMPLES = 64


@dataclass
class Conditions:
    """Conditions, one per sample to draw, and where they came from.

    Attributes:
        cond: ``(N,)`` labels, ``(N, D)`` vectors, ``(N, C, H, W)`` context, or ``None``.
        source: ``"none"``, ``"labels"``, the file's path, or ``"val"``.
        real: for ``"val"``, the validation samples ``(N, *data_shape)`` (data units) that the
            conditions belong to; otherwise ``None``.
    """

    cond: Tensor | None
    source: str
    real: Tensor | None = None


def class_labels(model: GenerativeModule, labels: list[int] | None, count: int) -> Tensor | None:
    """Labels ``(count,)`` for a class-conditional network (cycling all classes by default),
    or ``None`` for other networks."""
    num_classes = getattr(model.network, "hparams", {}).get("num_classes", 0)
    if not num_classes:
        if labels is not None:
            raise ValueError("labels were given but the model is not class-conditional.")
        return None
    chosen = torch.as_tensor(labels if labels is not None else range(num_classes))
    if chosen.min() < 0 or chosen.max() >= num_classes:
        raise ValueError(f"labels must lie in [0, {num_classes}); got {chosen.tolist()}.")
    return chosen.repeat((count + len(chosen) - 1) // len(chosen))[:count]


def read_conditions(path: str | Path, key: str = "cond") -> Tensor:
    """The array in a ``.npy`` file, or under ``key`` in a ``.npz`` file: ``(N, ...)``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"conditions={str(path)!r} does not exist; give a .npy or .npz.")
    if path.suffix not in (".npy", ".npz"):
        raise ValueError(f"conditions={str(path)!r} must be a .npy or .npz file.")
    try:
        if path.suffix == ".npy":
            array = np.load(path)
        else:
            with np.load(path) as data:
                if key not in data.files:
                    raise KeyError(
                        f"conditions={str(path)!r} has no key {key!r} (it has {data.files}); "
                        "set conditions_key to the array holding the conditions."
                    )
                array = data[key]
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise ValueError(
            f"conditions={str(path)!r} cannot be read as NumPy data: {error}"
        ) from error
    tensor = torch.as_tensor(array)
    return tensor.float() if tensor.is_floating_point() else tensor.long()


def check_conditions(model: GenerativeModule, cond: Tensor, source: str) -> None:
    """Refuse conditions the network cannot take, naming their shape and what it expects."""
    hparams = getattr(model.network, "hparams", {})
    num_classes = hparams.get("num_classes", 0)
    cond_shape = tuple(hparams.get("cond_shape") or ())
    per_sample = tuple(cond.shape[1:])
    labels_wrong = per_sample or cond.is_floating_point() or cond.min() < 0
    if num_classes and (labels_wrong or cond.max() >= num_classes):
        expected = f"integer class labels of shape (N,) in [0, {num_classes})"
    elif cond_shape and per_sample != cond_shape:
        kind = "vectors" if len(cond_shape) == 1 else "context arrays"
        expected = f"{kind} of shape (N, {', '.join(map(str, cond_shape))})"
    else:
        expected = None
    if expected is None:
        try:  # whatever else the network takes, one trial call tells
            x = torch.zeros(1, *model.data_shape, device=model.device)
            trial = model.normalize_cond(cond[:1].to(model.device))
            model.network(x, torch.zeros(1, device=model.device), trial)
            return
        except Exception as error:
            expected = f"what the network accepts ({type(error).__name__}: {error})"
    raise ValueError(
        f"conditions={source!r} holds {len(cond)} conditions of shape {per_sample} each, but "
        f"this {type(model.network).__name__} needs {expected}. Give a file with one condition "
        "per row in that shape."
    )


def resolve_conditions(
    model: GenerativeModule,
    ckpt_path: str | Path,
    conditions: str | None,
    labels: list[int] | None,
    num_samples: int | None,
    key: str = "cond",
) -> Conditions:
    """The conditions ``flowdiff-sample`` uses (see ``configs/sample.yaml``).

    Args:
        model: the loaded model.
        ckpt_path: its checkpoint, whose run folder rebuilds the validation set.
        conditions: ``None`` (labels or unconditional), ``"val"`` or a ``.npy``/``.npz`` path.
        labels: class labels to cycle through (class-conditional models only).
        num_samples: samples to draw; for ``"val"`` and files, one per condition (all of them
            when ``None``): the first ``num_samples`` conditions when there are more, the
            conditions cycled when there are fewer (``num_samples=2000`` with one observation:
            2,000 draws for it).
        key: the array's key in a ``.npz`` file.
    """
    if conditions is None:
        cond = class_labels(model, labels, num_samples or DEFAULT_NUM_SAMPLES)
        return Conditions(cond, "none" if cond is None else "labels")
    if conditions == "val":
        datamodule = build_datamodule(ckpt_path)
        x, cond = collect(datamodule.val_dataloader(), limit=num_samples)
        if cond is None:
            raise ValueError("conditions=val but the run's validation set has no conditions.")
        x, cond = cycled(x, num_samples), cycled(cond, num_samples)
        cond = model.denormalize_cond(cond)  # generate takes conditions in data units
        check_conditions(model, cond, "val")
        return Conditions(cond, "val", real=model.to_data_units(x.to(model.device)))
    cond = read_conditions(conditions, key)
    if getattr(model.network, "hparams", {}).get("cond_shape"):
        cond = cond.float()  # vectors stored as integers are still vectors
    check_conditions(model, cond, conditions)
    return Conditions(cycled(cond[:num_samples], num_samples), str(conditions))


def cycled(rows: Tensor, count: int | None) -> Tensor:
    """``rows`` repeated in order (0, 1, ..., 0, 1, ...) to ``count`` rows when it holds fewer;
    unchanged otherwise (or when ``count`` is ``None``)."""
    if count is None or len(rows) == 0 or len(rows) >= count:
        return rows
    return rows[torch.arange(count, device=rows.device) % len(rows)]
