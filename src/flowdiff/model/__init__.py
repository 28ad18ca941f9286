"""What a checkpoint holds: the :class:`GenerativeModule` (network + path + sampler), its
classifier-free guidance and the data normaliser it undoes when sampling."""

from flowdiff.model.module import GenerativeModule
from flowdiff.model.normalizer import NormalizationSource, Normalizer

__all__ = ["GenerativeModule", "NormalizationSource", "Normalizer"]
