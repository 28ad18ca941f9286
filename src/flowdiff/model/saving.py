"""Saving and loading a :class:`~flowdiff.model.GenerativeModule`: one verb each, mirrored.

``model.save(path)`` writes a checkpoint when ``path`` ends in ``.ckpt``, else a Hugging Face
model folder; ``GenerativeModule.load(path)`` reads either (and Hub repository ids). The older
spellings stay as aliases: ``load_from_checkpoint`` / ``from_checkpoint`` (a ``.ckpt``, or a
checkpoint already read) and ``save_pretrained`` / ``from_pretrained`` (a folder or repo id,
:mod:`flowdiff.model.hub`). A checkpoint holds what ``flowdiff-train`` writes for the model
(weights, hyperparameters, the ``flowdiff`` record of :mod:`flowdiff.model.checkpoint_record`),
so ``flowdiff-sample`` and ``flowdiff-eval`` read a saved one as a trained one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lightning

from flowdiff.checkpoints.atomic_io import atomic_torch_save
from flowdiff.checkpoints.reading import read_checkpoint
from flowdiff.errors import InputTypeError
from flowdiff.model.checkpoint_record import optimizer_record, parts_record, rebuild
from flowdiff.model.devices import check_device
from flowdiff.model.input_checks import warn_nonfinite_weights
from flowdiff.model.option_checks import check_checkpoint_dict

if TYPE_CHECKING:
    from flowdiff.model.module import GenerativeModule
    from flowdiff.samplers.base import Sampler

#: the file suffix that :meth:`SaveLoadMixin.save` and :meth:`SaveLoadMixin.load` read as a
#: checkpoint; anything else is a Hugging Face folder (or repository id)
CHECKPOINT_SUFFIX = ".ckpt"


def is_checkpoint(path: str | Path) -> bool:
    """Whether ``path`` names a checkpoint file rather than a model folder or repo id."""
    return Path(path).suffix == CHECKPOINT_SUFFIX or Path(path).is_file()


class SaveLoadMixin:
    """``save`` / ``load`` and the checkpoint hooks of :class:`GenerativeModule`."""

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Record how to rebuild the network, path and sampler without the Hydra config."""
        checkpoint["flowdiff"] = parts_record(self.network, self.path, self.sampler)
        checkpoint["flowdiff"]["optimizer"] = optimizer_record(self)

    def save(self, path: str | Path) -> Path:
        """Write the module: a checkpoint at ``path`` ending in ``.ckpt`` (atomically), else a
        Hugging Face folder (``save_pretrained``). The weights are those in the module now.

        Returns:
            ``path``.
        """
        if not isinstance(path, (str, os.PathLike)):
            raise InputTypeError(
                f"path must be a file path (.ckpt) or a folder path, not a {type(path).__name__}."
            )
        path = Path(path)
        if path.suffix != CHECKPOINT_SUFFIX:
            self.save_pretrained(path)
            return path
        checkpoint = {
            "state_dict": self.state_dict(),
            "hparams_name": "kwargs",
            "hyper_parameters": dict(self.hparams),
            "pytorch-lightning_version": lightning.__version__,
        }
        self.on_save_checkpoint(checkpoint)
        atomic_torch_save(checkpoint, path)
        return path

    @classmethod
    def load(
        cls,
        path: str | Path,
        map_location: Any = "cpu",
        sampler: Sampler | None = None,
        ema: bool = True,
        **overrides: Any,
    ) -> GenerativeModule:
        """Rebuild a module from a ``.ckpt`` (``flowdiff-train``'s or :meth:`save`'s) or a
        Hugging Face folder or repository id, in eval mode, ready to ``sample``.

        Args:
            path: the checkpoint file, model folder or repo id.
            map_location: device for the weights.
            sampler: a sampler to use instead of the one the model was trained with.
            ema: a checkpoint's EMA weights when the run kept them (the default), else the raw
                ones; a folder holds one set of weights.
            **overrides: replace saved hyperparameters (e.g. ``compile=False``).
        """
        if not isinstance(path, (str, os.PathLike)):
            raise InputTypeError(
                f"path must be a .ckpt file, a model folder or a Hub id 'owner/name', not a "
                f"{type(path).__name__}."
            )
        if not is_checkpoint(path):
            options = {"sampler": sampler} if sampler is not None else {}
            return cls.from_pretrained(path, map_location=map_location, **options, **overrides)
        return cls.load_from_checkpoint(path, map_location, sampler, ema, **overrides)

    @classmethod
    def load_from_checkpoint(  # type: ignore[override]
        cls,
        checkpoint_path: str | Path,
        map_location: Any = "cpu",
        sampler: Sampler | None = None,
        ema: bool = True,
        **overrides: Any,
    ) -> GenerativeModule:
        """:meth:`load` for a ``.ckpt`` (Lightning's name, kept as an alias)."""
        check_device(map_location, "map_location")
        checkpoint = read_checkpoint(checkpoint_path, map_location)
        return cls.from_checkpoint(checkpoint, map_location, sampler, ema, **overrides)

    @classmethod
    def from_checkpoint(
        cls,
        checkpoint: dict[str, Any],
        map_location: Any = "cpu",
        sampler: Sampler | None = None,
        ema: bool = True,
        **overrides: Any,
    ) -> GenerativeModule:
        """:meth:`load` for a checkpoint already read with
        :func:`~flowdiff.checkpoints.reading.read_checkpoint`."""
        check_device(map_location, "map_location")
        check_checkpoint_dict(checkpoint, ema)
        model = rebuild(cls, checkpoint, map_location, sampler, ema, **overrides)
        warn_nonfinite_weights(model, checkpoint.get("path", "the checkpoint"))
        return model
