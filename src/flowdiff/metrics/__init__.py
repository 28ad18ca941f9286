"""Sample-quality metrics and likelihoods; each takes plain arrays and returns floats."""

from flowdiff.metrics.c2st import c2st, c2st_per_condition, c2st_sbibm, snap_to_levels
from flowdiff.metrics.distances import (
    energy_distance,
    mmd,
    sliced_wasserstein,
    wasserstein2,
)
from flowdiff.metrics.features import FeatureClassifier, frechet_distance
from flowdiff.metrics.likelihood import log_likelihood

__all__ = [
    "FeatureClassifier",
    "c2st",
    "c2st_per_condition",
    "c2st_sbibm",
    "energy_distance",
    "frechet_distance",
    "log_likelihood",
    "mmd",
    "sliced_wasserstein",
    "snap_to_levels",
    "wasserstein2",
]
