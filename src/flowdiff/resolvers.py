"""OmegaConf resolvers that flowdiff's configs use; registered when :mod:`flowdiff` is imported.

``${flowdiff.eq:a,b}`` is ``a == b``. The diffusion path uses it to clip its clean-data estimate
to [-1, 1] exactly when the data are range-normalised into [-1, 1] (images), and not for
standardised vectors, whose values are unbounded:

    clip_sample: ${flowdiff.eq:${oc.select:data.normalization,none},range}
"""

from __future__ import annotations

from omegaconf import OmegaConf


def register() -> None:
    if not OmegaConf.has_resolver("flowdiff.eq"):
        OmegaConf.register_new_resolver("flowdiff.eq", lambda a, b: a == b)
