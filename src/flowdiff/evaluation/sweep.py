"""Sampler sweeps: one model sampled with several sampler settings, for quality against NFE."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flowdiff.components import describe
from flowdiff.evaluation.api import Evaluation, sample_and_score
from flowdiff.evaluation.suite import MetricSuite
from flowdiff.inference.sampler_choice import build_sampler
from flowdiff.model.module import GenerativeModule
from flowdiff.samplers.base import Sampler
from flowdiff.samplers.ode import ADAPTIVE_METHODS

#: Keys of a sampler config that name its kind of solver, in order of preference.
KIND_KEYS = ("method", "solver", "sampler_type")


def is_adaptive(sampler: Sampler) -> bool:
    """Whether the sampler chooses its own steps (dopri5, tsit5...): torchdyn samplers say so,
    ODE samplers by their torchdiffeq method."""
    if hasattr(sampler, "adaptive"):
        return bool(sampler.adaptive)
    return getattr(sampler, "method", None) in ADAPTIVE_METHODS


def sampler_label(sampler: Sampler) -> tuple[str, Any]:
    """A short name of the sampler's solver and its steps: ``("rk4", 8)``, ``("ddim", 20)``,
    ``("dopri5 (tol 1e-05)", "adaptive")``."""
    config = describe(sampler)
    kind = next((str(config[k]) for k in KIND_KEYS if k in config), config["_target_"])
    if is_adaptive(sampler):
        return f"{kind} (tol {config.get('atol', float('nan')):g})", "adaptive"
    return kind, config.get("steps")


def run_sweep(
    model: GenerativeModule,
    suite: MetricSuite,
    settings: Sequence[dict[str, Any]],
    num_samples: int,
    batch_size: int,
    seed: int,
    **generate_options: Any,
) -> list[tuple[dict[str, Any], Evaluation]]:
    """Score each sampler ``settings`` entry (overrides merged onto the model's sampler, e.g.
    ``{"method": "euler", "steps": 4}``), all from the same seeded noise.

    Returns:
        ``(table row, evaluation)`` per setting; a row holds ``kind``, ``steps``, ``nfe``,
        ``seconds`` and the metrics.
    """
    results = []
    for setting in settings:
        sampler = build_sampler(model.sampler, dict(setting), None)
        evaluation = sample_and_score(
            model, suite, sampler, num_samples, batch_size, seed, **generate_options
        )
        kind, steps = sampler_label(sampler)
        row = {
            "kind": kind,
            "steps": steps,
            "nfe": evaluation.nfe,
            "seconds": round(evaluation.seconds, 3),
            **evaluation.metrics,
        }
        results.append((row, evaluation))
    return results
