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
from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, OfflineModeIsEnabled
from hydra.utils import instantiate
from safetensors.torch import load_model, save_model

from flowdiff.checkpoints.integrity import DIGEST_KEY, check_safetensors, sha256
from flowdiff.checkpoints.upgrade import PARTS, RECORD_FORMAT, upgrade_parts
from flowdiff.components import describe, plain
from flowdiff.errors import CheckpointError, ModelNotFoundError
from flowdiff.model.devices import check_device
from flowdiff.model.pretrained_files import (
    check_local_folder,
    check_weights_fit,
    resolve_model_id,
    write_folder,
)


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

    def save_pretrained(self, save_directory: str | Path, **kwargs: Any) -> Any:
        """The mixin's ``save_pretrained``, written into a temporary folder first and moved into
        ``save_directory`` only once complete (see
        :func:`~flowdiff.model.pretrained_files.write_folder`); ``push_to_hub=True`` then
        uploads the folder."""
        push = kwargs.pop("push_to_hub", False)
        repo_id = kwargs.pop("repo_id", None)
        write_folder(
            save_directory,
            lambda temp: super(PretrainedMixin, self).save_pretrained(temp, **kwargs),
        )
        if push:
            return self.push_to_hub(repo_id or Path(save_directory).name, **kwargs)
        return None

    def _save_pretrained(self, save_directory: Path) -> None:
        """Write ``model.safetensors`` (the weights now in the module: the EMA ones after a run
        that kept an EMA) and ``config.json``, with the weights' SHA-256 to check on loading."""
        weights = save_directory / constants.SAFETENSORS_SINGLE_FILE
        save_model(self, str(weights))
        config = {**self.pretrained_config(), DIGEST_KEY: sha256(weights)}
        text = json.dumps(config, indent=2, sort_keys=True)
        (save_directory / constants.CONFIG_NAME).write_text(text + "\n")

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | Path, **kwargs: Any):
        """The mixin's ``from_pretrained`` after checking where the model is: a local folder
        (whose files must be sound) or, for an ``owner/name`` id only, the Hub.

        Raises:
            ModelNotFoundError: a local-looking path that does not exist (at once, without
                asking the Hub), or a Hub id that cannot be found or reached.
            DamagedFileError: a broken ``config.json`` or truncated/altered weights.
        """
        check_device(kwargs.get("map_location", "cpu"), "map_location")
        model_id, local = resolve_model_id(pretrained_model_name_or_path)
        if local:
            check_local_folder(model_id)
            return super().from_pretrained(model_id, **kwargs)
        try:
            return super().from_pretrained(model_id, **kwargs)
        except (HfHubHTTPError, LocalEntryNotFoundError, OfflineModeIsEnabled) as error:
            raise ModelNotFoundError(
                f"pretrained_model_name_or_path={model_id!r} is not a local folder and the Hub "
                f"did not give it ({type(error).__name__}: {str(error).splitlines()[0]}); check "
                "the id, your network or token, or give a local folder."
            ) from error

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
        config: dict[str, Any] | None = None,
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
                model_kwargs[part] = _instantiate_part(model_id, part, model_kwargs[part])
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
        check_safetensors(weights, (config or {}).get(DIGEST_KEY), "model.safetensors")
        if strict:
            check_weights_fit(model, weights)
        load_model(model, weights, strict=strict, device=str(map_location))
        return model.eval()


def _instantiate_part(model_id: str, part: str, record: dict[str, Any]) -> Any:
    """The network, path or sampler ``config.json`` describes, or one error naming the file."""
    try:
        return instantiate(record)
    except Exception as error:
        cause = " ".join(str(error.__cause__ or error).split())
        raise CheckpointError(
            f"{model_id!r}: the {part} in config.json cannot be built ({cause}); restore "
            "config.json as save_pretrained wrote it, or save the model again."
        ) from error
