"""What a checkpoint holds: the :class:`GenerativeModule` (network + path + sampler), its
classifier-free guidance and the data normaliser it undoes when sampling; and its Hugging Face
forms (``save_pretrained``/``from_pretrained``; ``to_diffusers_pipeline`` is imported from
:mod:`flowdiff.model.diffusers_export` itself)."""

from flowdiff.model.module import GenerativeModule
from flowdiff.model.normalizer import NormalizationSource, Normalizer

__all__ = ["GenerativeModule", "NormalizationSource", "Normalizer"]
