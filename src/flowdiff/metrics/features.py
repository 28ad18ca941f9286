"""A feature space learnt from the dataset itself, for Fréchet distances and conditional accuracy
of generated images — the role Inception plays for FID, without downloading anything.

With labels, a small MLP classifier is trained on the training split; its hidden activations are
the features and its predictions judge whether a sample shows the class it was generated for.
Without labels, the features are the training split's principal components.

Inputs are centred per feature but scaled by one global standard deviation: per-feature scaling
would divide by the near-zero spread of always-dark border pixels and let a generator's faint
noise there decide the class (on digits it judged 64% of samples correct that an SVC on raw
pixels judged 99.7% correct).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy import linalg

from flowdiff.metrics.distances import as_matrix

if TYPE_CHECKING:  # scikit-learn is imported where used
    from sklearn.decomposition import PCA
    from sklearn.neural_network import MLPClassifier


def frechet_distance(x, y) -> float:
    """Fréchet distance between Gaussians fitted to ``x`` ``(n, F)`` and ``y`` ``(m, F)``:
    ``|mu_x - mu_y|² + tr(C_x + C_y - 2 (C_x C_y)^½)`` (the formula of FID)."""
    x, y = as_matrix(x), as_matrix(y)
    mu_x, mu_y = x.mean(0), y.mean(0)
    cov_x, cov_y = np.atleast_2d(np.cov(x, rowvar=False)), np.atleast_2d(np.cov(y, rowvar=False))
    # tr (C_x C_y)^1/2 = sum of sqrt(eigenvalues) of the symmetric C_x^1/2 C_y C_x^1/2, which
    # stays real and stable when features are degenerate (dead ReLU units).
    values, vectors = linalg.eigh(cov_x)
    root_x = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = linalg.eigvalsh(root_x @ cov_y @ root_x)
    cross = np.sqrt(np.clip(middle, 0, None)).sum()
    value = ((mu_x - mu_y) ** 2).sum() + np.trace(cov_x) + np.trace(cov_y) - 2 * cross
    return float(max(value, 0.0))


class FeatureClassifier:
    """Features (and, with labels, a classifier) fitted on a dataset's training split.

    Args:
        hidden: width of the MLP's hidden layer, which is the feature space.
        components: number of principal components used when there are no labels.
        seed: seed of the MLP's initialisation.
    """

    def __init__(self, hidden: int = 128, components: int = 32, seed: int = 0):
        self.hidden = hidden
        self.components = components
        self.seed = seed
        self.mean: np.ndarray | None = None
        self.scale = 1.0
        self.classifier: MLPClassifier | None = None
        self.pca: PCA | None = None

    def fit(self, x, labels=None) -> FeatureClassifier:
        """Fit on training samples ``x`` ``(n, ...)`` and optional class labels ``(n,)``."""
        from sklearn.decomposition import PCA
        from sklearn.neural_network import MLPClassifier

        x = as_matrix(x)
        self.mean, self.scale = x.mean(0), float(x.std()) or 1.0
        x = self._standardize(x)
        if labels is None:
            self.pca = PCA(min(self.components, *x.shape), random_state=self.seed).fit(x)
            return self
        self.classifier = MLPClassifier(
            hidden_layer_sizes=(self.hidden,),
            max_iter=500,
            early_stopping=True,
            random_state=self.seed,
        ).fit(x, np.asarray(labels).reshape(-1))
        return self

    def _standardize(self, x) -> np.ndarray:
        return (as_matrix(x) - self.mean) / self.scale

    @property
    def has_classes(self) -> bool:
        return self.classifier is not None

    def features(self, x) -> np.ndarray:
        """Feature vectors ``(n, F)`` of samples ``x`` ``(n, ...)``."""
        x = self._standardize(x)
        if self.classifier is None:
            return self.pca.transform(x)
        hidden = x @ self.classifier.coefs_[0] + self.classifier.intercepts_[0]
        return np.maximum(hidden, 0.0)  # the MLP's ReLU hidden layer

    def predict(self, x) -> np.ndarray:
        """Predicted labels ``(n,)``; needs labels at :meth:`fit` time."""
        if self.classifier is None:
            raise ValueError("FeatureClassifier was fitted without labels; it cannot classify.")
        return self.classifier.predict(self._standardize(x))

    def accuracy(self, x, labels) -> float:
        """Share of samples ``x`` classified as ``labels`` ``(n,)``."""
        return float(np.mean(self.predict(x) == np.asarray(labels).reshape(-1)))

    def frechet(self, x, y) -> float:
        """Fréchet distance between samples ``x`` and ``y`` in this feature space."""
        return frechet_distance(self.features(x), self.features(y))
