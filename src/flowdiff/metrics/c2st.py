"""Classifier two-sample tests (C2ST): can a classifier tell generated samples from real ones?

The score is the classifier's held-out accuracy (k-fold cross-validation): 0.5 means the two
samples are indistinguishable, 1.0 means every sample is told apart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from flowdiff.metrics.distances import as_matrix

if TYPE_CHECKING:  # scikit-learn is imported where used: `import flowdiff.metrics` stays light
    from sklearn.base import ClassifierMixin


def default_classifier(dim: int, seed: int = 0) -> ClassifierMixin:
    """A standardising MLP with ``10 * dim`` hidden units (at most 256), as sbi's C2ST uses."""
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    hidden = min(256, 10 * dim)
    return make_pipeline(
        StandardScaler(),
        MLPClassifier(
            hidden_layer_sizes=(hidden, hidden),
            max_iter=1000,
            early_stopping=True,
            n_iter_no_change=20,
            random_state=seed,
        ),
    )


def c2st(x, y, folds: int = 5, seed: int = 0, classifier: ClassifierMixin | None = None) -> float:
    """Cross-validated accuracy of a classifier separating ``x`` from ``y``.

    Args:
        x: samples ``(n, D)`` (e.g. real).
        y: samples ``(m, D)`` (e.g. generated); keep ``n`` and ``m`` close, or 0.5 is no longer
            the chance level.
        folds: cross-validation folds (at least 2, at most the smaller sample's size).
        seed: seed of the folds and of the default classifier.
        classifier: any scikit-learn classifier; :func:`default_classifier` when ``None``.

    Returns:
        Mean held-out accuracy in [0, 1]; about 0.5 when ``x`` and ``y`` are alike.
    """
    x, y = as_matrix(x), as_matrix(y)
    folds = max(2, min(folds, len(x), len(y)))
    features = np.concatenate([x, y])
    labels = np.concatenate([np.zeros(len(x)), np.ones(len(y))])
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    model = clone(classifier) if classifier is not None else default_classifier(x.shape[1], seed)
    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return float(np.mean(cross_val_score(model, features, labels, cv=split, scoring="accuracy")))


def c2st_sbibm(reference, samples, folds: int = 5, seed: int = 1) -> float:
    """C2ST exactly as sbibm computes it (``sbibm.metrics.c2st``, sbibm 1.1.0), for figures
    comparable with the published sbibm tables.

    Unlike :func:`c2st`: both samples are z-scored with the *reference* sample's mean and
    standard deviation (not refitted per fold), the MLP has ``10 * dim`` units in each of its two
    layers with no cap, trains without early stopping (``max_iter=10000``, sklearn's default
    stopping on the training loss), and the folds are plain shuffled k-fold, seeded with 1.
    Everything runs in float32, as sbibm's tensors do. One deviation: a dimension that is
    constant in the reference is centred but not scaled (sbibm would divide by zero).

    Args:
        reference: reference samples ``(n, D)``, e.g. sbibm's 10,000 reference posterior draws.
        samples: samples to judge ``(m, D)``; sbibm uses as many as the reference.
        folds: cross-validation folds (sbibm: 5).
        seed: seed of the folds and of the classifier (sbibm: 1).

    Returns:
        Mean held-out accuracy in [0, 1]; 0.5 when the samples cannot be told apart.
    """
    from sklearn.model_selection import KFold, cross_val_score
    from sklearn.neural_network import MLPClassifier

    x = as_matrix(reference).astype(np.float32)
    y = as_matrix(samples).astype(np.float32)
    mean, std = x.mean(axis=0), x.std(axis=0, ddof=1)
    # sbibm divides by zero for a constant dimension (e.g. a pixel black in every real image);
    # such a dimension is only centred here.
    std = np.where(std > 0, std, 1.0).astype(np.float32)
    x, y = (x - mean) / std, (y - mean) / std
    width = 10 * x.shape[1]
    classifier = MLPClassifier(
        activation="relu",
        hidden_layer_sizes=(width, width),
        max_iter=10000,
        solver="adam",
        random_state=seed,
    )
    features = np.concatenate([x, y])
    labels = np.concatenate([np.zeros(len(x)), np.ones(len(y))])
    split = KFold(n_splits=folds, shuffle=True, random_state=seed)
    return float(np.mean(cross_val_score(classifier, features, labels, cv=split)))


def snap_to_levels(x, real, max_levels: int = 256) -> np.ndarray:
    """``x`` ``(n, D)`` with every value rounded to the nearest value that ``real`` takes,
    when ``real`` takes at most ``max_levels`` values (e.g. the 17 grey levels 0-16 of the
    digits); otherwise ``x`` unchanged. A classifier then cannot tell generated samples by
    values real ones never take."""
    x, levels = as_matrix(x), np.unique(as_matrix(real))
    if len(levels) > max_levels:
        return x
    index = np.clip(np.searchsorted(levels, x), 1, len(levels) - 1)
    lower, upper = levels[index - 1], levels[index]
    return np.where(x - lower <= upper - x, lower, upper)


def condition_groups(cond: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique conditions ``(K, ...)`` and, per sample, the index of its condition ``(n,)``."""
    flat = np.asarray(cond).reshape(len(cond), -1)
    unique, inverse = np.unique(flat, axis=0, return_inverse=True)
    return unique, inverse.reshape(-1)


def c2st_per_condition(
    real_x,
    real_cond,
    fake_x,
    fake_cond,
    min_samples: int = 20,
    score: Callable[..., float] = c2st,
) -> dict[str, float]:
    """C2ST within each condition that has at least ``min_samples`` real and generated samples.

    Args:
        real_x: real samples ``(n, D)``.
        real_cond: their conditions: labels ``(n,)`` or vectors ``(n, C)``.
        fake_x: generated samples ``(m, D)``.
        fake_cond: the conditions they were generated with, like ``real_cond``.
        min_samples: smallest group that is scored.
        score: the two-sample score applied to each group.

    Returns:
        ``{condition: accuracy}``, the condition written as ``"3"`` or ``"0.5,1.0"``.
    """
    real_x, fake_x = as_matrix(real_x), as_matrix(fake_x)
    real_cond, fake_cond = np.asarray(real_cond), np.asarray(fake_cond)
    unique, real_group = condition_groups(real_cond)
    flat_fake = fake_cond.reshape(len(fake_cond), -1)
    scores = {}
    for k, value in enumerate(unique):
        in_real = real_group == k
        in_fake = np.all(np.isclose(flat_fake, value), axis=1)
        if in_real.sum() >= min_samples and in_fake.sum() >= min_samples:
            name = ",".join(f"{v:g}" for v in np.ravel(value))
            scores[name] = score(real_x[in_real], fake_x[in_fake])
    return scores
