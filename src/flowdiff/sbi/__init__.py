"""Simulation-based inference: posteriors ``q(theta | x)`` fitted to simulations in memory, in
sbi's posterior protocol, and the calibration checks to run before trusting them.

    from flowdiff.sbi import PosteriorEstimator
    posterior = PosteriorEstimator().fit(theta, x)
    samples = posterior.sample((10_000,), x=x_o)

Names are imported on first use (PEP 562), so ``import flowdiff.sbi`` is fast; scikit-learn,
matplotlib and diffusers are imported only by what needs them (C2ST, figures, diffusion paths).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flowdiff import _lazy_exports

if TYPE_CHECKING:
    from flowdiff.sbi.diagnostics import (
        Calibration,
        calibration,
        calibration_from_samples,
        posterior_c2st,
    )
    from flowdiff.sbi.embeddings import (
        CNN1dEmbedding,
        CNNEmbedding,
        EmbeddedNetwork,
        MLPEmbedding,
        SetEmbedding,
    )
    from flowdiff.sbi.estimator import PosteriorEstimator
    from flowdiff.sbi.posterior import Posterior
    from flowdiff.sbi.rounds import Round, TruncatedRounds

#: Public name -> the module that defines it.
_HOMES = {
    "CNN1dEmbedding": "flowdiff.sbi.embeddings",
    "CNNEmbedding": "flowdiff.sbi.embeddings",
    "EmbeddedNetwork": "flowdiff.sbi.embeddings",
    "MLPEmbedding": "flowdiff.sbi.embeddings",
    "SetEmbedding": "flowdiff.sbi.embeddings",
    "Calibration": "flowdiff.sbi.diagnostics",
    "Posterior": "flowdiff.sbi.posterior",
    "PosteriorEstimator": "flowdiff.sbi.estimator",
    "Round": "flowdiff.sbi.rounds",
    "TruncatedRounds": "flowdiff.sbi.rounds",
    "calibration": "flowdiff.sbi.diagnostics",
    "calibration_from_samples": "flowdiff.sbi.diagnostics",
    "posterior_c2st": "flowdiff.sbi.diagnostics",
}

__all__ = [
    "CNN1dEmbedding",
    "CNNEmbedding",
    "Calibration",
    "EmbeddedNetwork",
    "MLPEmbedding",
    "Posterior",
    "PosteriorEstimator",
    "Round",
    "SetEmbedding",
    "TruncatedRounds",
    "calibration",
    "calibration_from_samples",
    "posterior_c2st",
]


__getattr__, __dir__ = _lazy_exports(__name__, _HOMES)
