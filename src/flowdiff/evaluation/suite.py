"""Which metrics suit which data, and the real-against-real floor each is read against.

- vectors: energy distance, MMD, exact W2 (up to ``w2_max`` samples) and sliced W2;
- conditional vectors: also C2ST on ``(x, cond)`` pairs and C2ST within each condition that
  repeats often enough;
- images: C2ST on the pixels (and within each class for labelled images), Fréchet distance in
  the feature space of a classifier trained on the training split, and, for class labels, the
  share of samples classified as the class they were drawn for. The pixel C2ST sees what the
  saturated class accuracy cannot: grey speckle on a background that is always black in real
  images, blurred strokes, wrong stroke widths. With ``fid=True`` also the Inception FID of the
  papers (extra ``flowdiff[fid]``; it downloads its weights on first use, so it is off by
  default). With ``full_c2st=True`` also ``c2st_full``: sbibm's C2ST (a 10 x dim MLP, no early
  stopping) of the generated images against *all* real ones (training and held-out), generated
  pixels rounded to the values real pixels take; its floor compares two halves of the real data.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
from torch import Tensor

from flowdiff.errors import ConfigError
from flowdiff.evaluation.reference import Reference
from flowdiff.metrics import (
    FeatureClassifier,
    c2st,
    c2st_per_condition,
    c2st_sbibm,
    energy_distance,
    mmd,
    sliced_wasserstein,
    snap_to_levels,
    wasserstein2,
)
from flowdiff.metrics.distances import as_matrix


@dataclass
class MetricOptions:
    """Sizes and seeds of the metrics (``metrics:`` in ``configs/eval.yaml``)."""

    max_samples: int = 2000
    w2_max: int = 2000
    projections: int = 200
    c2st_folds: int = 5
    min_per_condition: int = 20
    seed: int = 0
    fid: bool = False  # Inception FID (images; downloads its weights on first use)
    full_c2st: bool = False  # images: sbibm's C2ST against all real images (slow: minutes)


class MetricSuite:
    """Scores generated samples against a :class:`Reference`; fitted once per dataset.

    Args:
        reference: the real data.
        options: metric sizes and seeds.
    """

    def __init__(self, reference: Reference, options: MetricOptions | None = None):
        self.reference = reference
        self.options = options or MetricOptions()
        self.features = None
        if reference.is_image:
            labels = reference.train_cond if reference.has_labels else None
            self.features = FeatureClassifier(seed=self.options.seed).fit(reference.train_x, labels)
        self.inception_fid = self._inception_fid() if self.options.fid else None

    def _inception_fid(self):
        if not self.reference.is_image:
            shape = tuple(self.reference.val_x.shape[1:])
            raise ConfigError(
                f"fid=True needs images (C, H, W), not samples of shape {shape}; set "
                "fid=False (metrics.fid=false in flowdiff-eval)."
            )
        from flowdiff.metrics.inception import InceptionFID  # optional extra flowdiff[fid]

        return InceptionFID()

    def _size(self, count: int) -> int:
        """Samples compared on each side: as many generated as real ones (and at most
        ``max_samples``), so that scores and the floor share their finite-sample bias."""
        return min(count, len(self.reference.val_x), self.options.max_samples)

    def score(self, x: Tensor, cond: Tensor | None) -> dict[str, float]:
        """Metrics of samples ``x`` ``(N, ...)`` drawn with conditions ``cond`` against the
        held-out split; lower is better except ``cond_accuracy`` (C2ST: 0.5 is best)."""
        n = self._size(len(x))
        ref = self.reference
        real_cond = None if ref.val_cond is None else ref.val_cond[:n]
        cond = None if cond is None else cond[:n]
        if self.features is not None:
            scores = self._image_scores(ref.val_x[:n], real_cond, x[:n], cond)
            if self.options.full_c2st:  # all samples, not the first n
                scores["c2st_full"] = self.full_c2st(x)
            return scores
        return self._vector_scores(ref.val_x[:n], real_cond, x[:n], cond)

    def floor(self) -> dict[str, float]:
        """The same metrics with real training samples in place of generated ones (images: the
        classifier's accuracy on held-out real images): what a perfect model would score at
        this sample size."""
        ref = self.reference
        n = self._size(len(ref.train_x))
        train_cond = None if ref.train_cond is None else ref.train_cond[:n]
        if self.features is None:
            return self.score(ref.train_x[:n], train_cond)
        val_cond = None if ref.val_cond is None else ref.val_cond[:n]
        scores = {
            "frechet": self.features.frechet(ref.val_x[:n], ref.train_x[:n]),
            **self._pixel_c2st(ref.val_x[:n], val_cond, ref.train_x[:n], train_cond),
        }
        if self.inception_fid is not None:
            scores["fid"] = self.inception_fid(ref.val_x[:n], ref.train_x[:n])
        if self.features.has_classes:
            scores["cond_accuracy"] = self.features.accuracy(ref.val_x[:n], ref.val_cond[:n])
        if self.options.full_c2st:
            scores["c2st_full"] = self.full_c2st_floor()
        return scores

    def full_c2st_floor(self) -> float:
        """:meth:`full_c2st`'s real-vs-real floor: two random halves of all real images."""
        real = self._all_real()
        order = np.random.default_rng(self.options.seed).permutation(len(real))
        half = len(real) // 2
        return c2st_sbibm(real[order[:half]], real[order[half : 2 * half]])

    def _all_real(self) -> np.ndarray:
        """Every real image, training and held-out, flattened ``(N, C * H * W)``."""
        return np.concatenate([as_matrix(self.reference.train_x), as_matrix(self.reference.val_x)])

    def full_c2st(self, x: Tensor) -> float:
        """sbibm's C2ST of generated images ``x`` ``(M, C, H, W)`` (rounded to the values real
        pixels take) against as many of all the real images; draw them with the real images'
        conditions (training then held-out) for a like-for-like test."""
        real = self._all_real()
        n = min(len(real), len(x))
        return c2st_sbibm(real[:n], snap_to_levels(x[:n], real))

    def _vector_scores(self, real_x, real_cond, x, cond) -> dict[str, float]:
        o = self.options
        scores = {
            "energy": energy_distance(real_x, x),
            "mmd": mmd(real_x, x),
            "sliced_w2": sliced_wasserstein(real_x, x, o.projections, o.seed),
        }
        if max(len(real_x), len(x)) <= o.w2_max:
            scores["w2"] = wasserstein2(real_x, x)
        if cond is not None and real_cond is not None:
            n = min(len(real_x), len(x))
            joint_real = np.hstack([as_matrix(real_x[:n]), as_matrix(real_cond[:n])])
            joint_fake = np.hstack([as_matrix(x[:n]), as_matrix(cond[:n])])
            scores["c2st"] = c2st(joint_real, joint_fake, o.c2st_folds, o.seed)
            scores.update(self._per_condition(real_x, real_cond, x, cond))
        return scores

    def _per_condition(self, real_x, real_cond, x, cond) -> dict[str, float]:
        """``c2st_cond_mean`` and ``c2st_cond_max`` over the conditions that repeat often
        enough (none when none does)."""
        o = self.options
        per_condition = c2st_per_condition(
            real_x,
            real_cond,
            x,
            cond,
            min_samples=o.min_per_condition,
            score=partial(c2st, folds=o.c2st_folds, seed=o.seed),
        )
        if not per_condition:
            return {}
        values = list(per_condition.values())
        return {"c2st_cond_mean": float(np.mean(values)), "c2st_cond_max": float(np.max(values))}

    def _pixel_c2st(self, real_x, real_cond, x, cond) -> dict[str, float]:
        """C2ST on the flattened pixels; within each class too when the images have labels."""
        o = self.options
        scores = {"c2st": c2st(real_x, x, o.c2st_folds, o.seed)}
        if self.features.has_classes and cond is not None and real_cond is not None:
            scores.update(self._per_condition(real_x, real_cond, x, cond))
        return scores

    def _image_scores(self, real_x, real_cond, x, cond) -> dict[str, float]:
        scores = {"frechet": self.features.frechet(real_x, x)}
        scores.update(self._pixel_c2st(real_x, real_cond, x, cond))
        if self.inception_fid is not None:
            scores["fid"] = self.inception_fid(real_x, x)
        if self.features.has_classes and cond is not None:
            scores["cond_accuracy"] = self.features.accuracy(x, cond)
        return scores
