"""Calibration of conditional vector models (posteriors ``q(theta | x)``) on held-out pairs:
SBC ranks and TARP expected coverage, for ``flowdiff.evaluate`` and ``flowdiff-eval``."""

from __future__ import annotations

from dataclasses import dataclass

from flowdiff.evaluation.reference import Reference
from flowdiff.model.module import GenerativeModule
from flowdiff.sbi.diagnostics import Calibration, calibration
from flowdiff.sbi.posterior import Posterior


@dataclass
class CalibrationOptions:
    """``calibration:`` in ``configs/eval.yaml``.

    Attributes:
        enabled: run the checks for conditional vector models.
        num_pairs: held-out ``(x, cond)`` pairs checked.
        num_samples: posterior draws per pair.
        alpha: significance level of the uniformity tests.
        seed: seed of the draws and tests.
    """

    enabled: bool = True
    num_pairs: int = 200
    num_samples: int = 100
    alpha: float = 0.01
    seed: int = 0


def is_posterior(reference: Reference) -> bool:
    """Vector samples ``(N, D)`` drawn given float conditions: a posterior ``q(x | cond)``."""
    cond = reference.val_cond
    return cond is not None and cond.is_floating_point() and reference.val_x.dim() == 2


def calibrate(
    model: GenerativeModule, reference: Reference, options: CalibrationOptions | None = None
) -> Calibration | None:
    """SBC and coverage of ``model`` on the held-out pairs (the samples as the true parameters,
    their conditions as the observations); ``None`` for other models or when disabled."""
    options = options or CalibrationOptions()
    if not options.enabled or not is_posterior(reference) or options.num_pairs < 1:
        return None
    pairs = min(options.num_pairs, len(reference.val_x))
    return calibration(
        Posterior(model),
        reference.val_x[:pairs],
        reference.val_cond[:pairs],
        num_samples=options.num_samples,
        alpha=options.alpha,
        seed=options.seed,
    )
