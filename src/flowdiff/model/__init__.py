"""What a checkpoint holds: the :class:`GenerativeModule` (network + path + sampler), its
classifier-free guidance and the data normaliser it undoes when sampling; saving and loading it
(:mod:`flowdiff.model.saving`, ``save``/``load``) and its Hugging Face forms
(``to_diffusers_pipeline`` is imported from :mod:`flowdiff.model.diffusers_export` itself).

The names are imported on first use (PEP 562), so that ``data/`` importing
:mod:`flowdiff.model.normalizer` does not load the whole module and everything it builds on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flowdiff import _lazy_exports

#: public name -> the module that defines it
_EXPORTS = {
    "GenerativeModule": "flowdiff.model.module",
    "NormalizationSource": "flowdiff.model.normalizer",
    "Normalizer": "flowdiff.model.normalizer",
}
__all__ = ["GenerativeModule", "NormalizationSource", "Normalizer"]

if TYPE_CHECKING:
    from flowdiff.model.module import GenerativeModule
    from flowdiff.model.normalizer import NormalizationSource, Normalizer


__getattr__, __dir__ = _lazy_exports(__name__, _EXPORTS)
