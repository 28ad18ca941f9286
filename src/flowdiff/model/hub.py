"""Adapter over ``huggingface_hub``: ``save_pretrained`` / ``from_pretrained`` for a trained model.

A saved model is a folder any Hugging Face user recognises: ``model.safetensors`` (the module's
weights, normaliser statistics included), ``config.json`` (how to rebuild the network, path and
sampler: the same :func:`~flowdiff.components.describe` record a checkpoint carries, plus
the module's hyperparameters) and a model card (``README.md``). Loading a local folder needs no
network; a Hub repository id is downloaded by ``huggingface_hub`` as for any other model.

``huggingface_hub``'s mixin reads ``config.json`` and passes every key named like an argument
of ``GenerativeModule.__init__`` to :meth:`PretrainedMixin._from_pretrained`, so ``network``,
``path`` and ``sampler`` arrive there as records to instantiate, unless the caller gave objects
(``from_pretrained(folder, sampler=DiffusersSampler("UniPCMultistepScheduler", 10))``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from huggingface_hub import PyTorchModelHubMixin, constants, hf_hub_download
from hydra.utils import instantiate
from safetensors.torch import load_model, save_model

from flowdiff.checkpoints.upgrade import PARTS, RECORD_FORMAT, upgrade_parts
from flowdiff.components import describe, plain


class PretrainedMixin(
    PyTorchModelHubMixin,
    library_name="flowdiff",
    tags=["flowdiff", "generative-model"],
):
    """``save_pretrained(folder)`` / ``from_pretrained(folder_or_repo_id)`` for
    :class:`~flowdiff.model.module.GenerativeModule`, plus ``push_to_hub`` from the mixin."""

    def pretrained_config(self) -> dict[str, Any]:
        """What ``config.json`` holds: the parts' records and the module's hyperparameters."""
        config: dict[str, Any] = {"flowdiff_format": RECORD_FORMAT}
        config.update({part: describe(getattr(self, part)) for part in PARTS})
        config.update({key: plain(value) for key, value in self.hparams.items()})
        return config

    def _save_pretrained(self, save_directory: Path) -> None:
        """Write ``model.safetensors`` (the weights now in the module: the EMA ones after a run
        that kept an EMA) and ``config.json``."""
        save_model(self, str(save_directory / constants.SAFETENSORS_SINGLE_FILE))
        config = json.dumps(self.pretrained_config(), indent=2, sort_keys=True)
        (save_directory / constants.CONFIG_NAME).write_text(config + "\n")

    @classmethod
    def _from_pretrained(
        cls,
        *,
        model_id: str,
        revision: str | None,
        cache_dir: str | Path | None,
        force_download: bool,
        local_files_only: bool,
        token: str | bool | None,
        map_location: str = "cpu",
        strict: bool = True,
        **model_kwargs: Any,
    ):
        """Rebuild the module from ``config.json`` and load ``model.safetensors``, in eval mode."""
        missing = [part for part in PARTS if part not in model_kwargs]
        if missing:
            raise ValueError(
                f"{model_id!r} has no flowdiff config.json naming the {', '.join(missing)}; load "
                "a folder written by GenerativeModule.save_pretrained."
            )
        upgrade_parts(model_kwargs)  # a folder written by an earlier version
        for part in PARTS:
            if isinstance(model_kwargs[part], dict):
                model_kwargs[part] = instantiate(model_kwargs[part])
        model = cls(**model_kwargs)
        if os.path.isdir(model_id):
            weights = os.path.join(model_id, constants.SAFETENSORS_SINGLE_FILE)
        else:
            weights = hf_hub_download(
                repo_id=model_id,
                filename=constants.SAFETENSORS_SINGLE_FILE,
                revision=revision,
                cache_dir=cache_dir,
                force_download=force_download,
                token=token,
                local_files_only=local_files_only,
            )
        load_model(model, weights, strict=strict, device=str(map_location))
        return model.eval()
