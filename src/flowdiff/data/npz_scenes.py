"""Scenes stored as one ``.npz`` per scene (the npz scenes format): context masks -> a goal mask.

Each file holds 2-D masks of one size (e.g. 224 x 224): the context (``robot_image``,
``goal_image``, ``movable_objects_image``, ``static_objects_image``, ``target_object``) and the
target ``target_goal``. Older files name the first four ``robot``, ``goal``, ``movable`` and
``static``; both spellings are read. Every mask is resized to ``image_size`` (area averaging).
"""

from __future__ import annotations

import logging
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

from flowdiff.data.demo_scenes import make_scene
from flowdiff.data.in_memory import InMemoryDataModule

log = logging.getLogger(__name__)

CONTEXT_KEYS = (
    "robot_image",
    "goal_image",
    "movable_objects_image",
    "static_objects_image",
    "target_object",
)
TARGET_KEY = "target_goal"
LEGACY_KEYS = {
    "robot_image": "robot",
    "goal_image": "goal",
    "movable_objects_image": "movable",
    "static_objects_image": "static",
}


def scene_files(data_dir: str | Path) -> list[Path]:
    """The sorted ``*.npz`` files of ``data_dir``, or a message naming the folder."""
    folder = Path(data_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"data_dir={str(folder)!r} is not a folder.")
    files = sorted(folder.glob("*.npz"))
    if not files:
        raise FileNotFoundError(
            f"data_dir={str(folder)!r} holds no .npz files; each scene must be one .npz."
        )
    return files


def read_scene(file: Path, keys: Sequence[str], legacy: Mapping[str, str]) -> dict[str, np.ndarray]:
    """The 2-D masks ``keys`` of one scene file (legacy names accepted), all of one shape.

    Raises:
        KeyError: naming the file and the missing key.
        ValueError: naming the file for an unreadable file, and the key of a mask whose shape
            disagrees with the others.
    """
    try:
        with np.load(file) as arrays:
            present = set(arrays.files)
            masks = {}
            for key in keys:
                name = key if key in present else legacy.get(key)
                if name not in present:
                    also = f" (or legacy {legacy[key]!r})" if key in legacy else ""
                    raise KeyError(
                        f"{file}: missing key {key!r}{also}; it has {sorted(present)}. Fix the "
                        "file or set context_keys= / target_key= to its keys."
                    )
                masks[key] = np.asarray(arrays[name], dtype=np.float32)
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error) as error:
        raise ValueError(
            f"{file}: not a readable .npz file ({error}); remove or rewrite it."
        ) from error
    first_key = keys[0]
    for key, mask in masks.items():
        if mask.ndim != 2 or mask.shape != masks[first_key].shape:
            raise ValueError(
                f"{file}: key {key!r} has shape {list(mask.shape)}, but every mask of a scene "
                f"must be 2-D like {first_key!r} {list(masks[first_key].shape)}."
            )
    return masks


def resize(masks: np.ndarray, size: int) -> Tensor:
    """Masks ``(C, H, W)`` to ``(C, size, size)`` by area averaging (bilinear when enlarging)."""
    x = torch.from_numpy(masks)[None]
    mode = "area" if x.shape[-1] >= size and x.shape[-2] >= size else "bilinear"
    return F.interpolate(x, size=(size, size), mode=mode)[0]


class NpzScenesDataModule(InMemoryDataModule):
    """One ``.npz`` per scene: ``x`` is the target mask ``(N, 1, S, S)`` and ``cond`` the context
    masks ``(N, len(context_keys), S, S)`` with ``S = image_size``.

    Every file is read and checked when the datamodule is set up, before any training. Masks
    (values in [0, 1] or [0, 255]) go to [-1, 1] with the training split's range.

    Args:
        data_dir: folder of ``.npz`` scenes.
        context_keys: keys of the context masks, in channel order.
        target_key: key of the mask to generate.
        legacy_keys: old name of a key, read when the new one is absent.
        image_size: side of the resized square masks.
        add_coord_grid: read by the networks (``data.add_coord_grid``); recorded here only.
        demo_scenes: with ``data_dir`` unset, this many generated scenes
            (:mod:`flowdiff.data.demo_scenes`) stand in, for smoke runs and demos.
        **kwargs: see :class:`~flowdiff.data.in_memory.InMemoryDataModule`.
    """

    def __init__(
        self,
        data_dir: str | None = None,
        context_keys: Sequence[str] = CONTEXT_KEYS,
        target_key: str = TARGET_KEY,
        legacy_keys: Mapping[str, str] | None = None,
        image_size: int = 64,
        add_coord_grid: bool = True,
        demo_scenes: int = 128,
        **kwargs,
    ):
        kwargs.setdefault("shape", (1, image_size, image_size))
        kwargs.setdefault("cond_shape", (len(context_keys), image_size, image_size))
        kwargs.setdefault("normalization", "range")
        kwargs.setdefault("cond_normalization", "range")
        super().__init__(**kwargs)
        if self.cond_shape != (len(context_keys), image_size, image_size):
            raise ValueError(
                f"cond_shape={list(self.cond_shape)} but {len(context_keys)} context keys at "
                f"image_size={image_size} make {[len(context_keys), image_size, image_size]}."
            )
        self.data_dir = data_dir
        self.context_keys = tuple(context_keys)
        self.target_key = target_key
        self.legacy_keys = dict(LEGACY_KEYS if legacy_keys is None else legacy_keys)
        self.image_size = image_size
        self.add_coord_grid = add_coord_grid
        self.demo_scenes = demo_scenes

    def source(self) -> str:
        return f"{type(self).__name__} ({self.data_dir})"

    def _demo(self) -> list[dict[str, np.ndarray]]:
        log.warning(
            "data_dir is not set: training on %d generated demo scenes; set "
            "data_dir=/path/to/scenes for your own.",
            self.demo_scenes,
        )
        rng = np.random.default_rng(self.seed)
        return [make_scene(rng, size=self.image_size) for _ in range(self.demo_scenes)]

    def load(self) -> tuple[Tensor, Tensor]:
        keys = [*self.context_keys, self.target_key]
        if self.data_dir is None:
            scenes = self._demo()
        else:
            files = scene_files(self.data_dir)
            scenes = (read_scene(file, keys, self.legacy_keys) for file in files)
        stacked = torch.stack(
            [
                resize(np.stack([m[k] for k in keys]).astype(np.float32), self.image_size)
                for m in scenes
            ]
        )
        return stacked[:, -1:], stacked[:, :-1]
