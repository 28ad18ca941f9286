"""The OmegaConf resolvers flowdiff's configs use, all registered here when :mod:`flowdiff` is
imported.

- ``${flowdiff.eq:a,b}`` is ``a == b``. The diffusion path uses it to clip its clean-data estimate
  to [-1, 1] exactly when the data are range-normalised into [-1, 1] (images), and not for
  standardised vectors, whose values are unbounded:

      clip_sample: ${flowdiff.eq:${oc.select:data.normalization,none},range}

- ``${flowdiff_run_dir:default,ckpt_path,config_name}`` is the run folder
  (:func:`flowdiff.checkpoints.run_folders.run_dir`): a resumed run continues in its own folder.
"""

from __future__ import annotations

from omegaconf import OmegaConf

from flowdiff.checkpoints.run_folders import run_dir


def register() -> None:
    """Register every flowdiff resolver (idempotent)."""
    if not OmegaConf.has_resolver("flowdiff.eq"):
        OmegaConf.register_new_resolver("flowdiff.eq", lambda a, b: a == b)
    if not OmegaConf.has_resolver("flowdiff_run_dir"):
        OmegaConf.register_new_resolver("flowdiff_run_dir", run_dir)
