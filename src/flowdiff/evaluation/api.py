"""``flowdiff.evaluate``: sample a model and score the samples against held-out real data."""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from lightning import LightningDataModule
from torch import Tensor

from flowdiff.checkpoints.loading import build_datamodule
from flowdiff.components import describe
from flowdiff.errors import InputValueError
from flowdiff.evaluation.arguments import check_evaluate_args, warn_nonfinite_metrics
from flowdiff.evaluation.posterior_calibration import CalibrationOptions, calibrate
from flowdiff.evaluation.reference import Reference, generation_conditions, reference_from
from flowdiff.evaluation.suite import MetricOptions, MetricSuite
from flowdiff.inference.sample_job import draw, generate_kwargs
from flowdiff.metrics.likelihood import bits_per_dim, log_likelihood
from flowdiff.model.loading import load_model
from flowdiff.model.module import GenerativeModule
from flowdiff.samplers.base import Sampler
from flowdiff.sbi.diagnostics import Calibration


@dataclass
class Evaluation:
    """What :func:`evaluate` measured for one sampler setting.

    Attributes:
        metrics: metric name -> value (see :mod:`flowdiff.evaluation.suite`), plus ``nll``
            (nats per sample) and ``bits_per_dim`` for flow-matching models.
        floor: the same metrics for real against real data.
        sampler: the resolved sampler as a Hydra config.
        nfe: network evaluations per batch of samples.
        seconds: wall time of sampling.
        samples: the generated samples ``(N, *data_shape)`` in data units.
        cond: the conditions they were drawn with.
        calibration: SBC and coverage on held-out pairs, for conditional vector models
            (posteriors); its numbers are in ``metrics`` too (``sbc_min_p``, ``coverage_p``...).
    """

    metrics: dict[str, float]
    floor: dict[str, float]
    sampler: dict[str, Any]
    nfe: int
    seconds: float
    samples: Tensor
    cond: Tensor | None
    calibration: Calibration | None = None


def sample_and_score(
    model: GenerativeModule,
    suite: MetricSuite,
    sampler: Sampler,
    num_samples: int,
    batch_size: int = 1000,
    seed: int = 0,
    **generate_options: Any,
) -> Evaluation:
    """Draw ``num_samples`` with the held-out conditions and score them; ``generate_options``
    go to :meth:`GenerativeModule.generate` (e.g. ``guidance_scale``)."""
    cond = generation_conditions(suite.reference, num_samples)
    generator = torch.Generator(model.device).manual_seed(seed)
    start = time.perf_counter()
    out, batches = draw(
        model, sampler, num_samples, batch_size, cond, generator, **generate_options
    )
    seconds = time.perf_counter() - start
    metrics = suite.score(out.x, cond)
    return Evaluation(metrics, {}, describe(sampler), out.nfe // batches, seconds, out.x, cond)


def likelihood_metrics(
    model: GenerativeModule, reference: Reference, num_samples: int, **options: Any
) -> dict[str, float]:
    """Mean NLL (nats per sample) and bits per dimension of held-out samples, in data units;
    empty for models without an ODE likelihood (diffusion)."""
    if getattr(model.path, "family", None) != "flow_matching" or num_samples < 1:
        return {}
    x = reference.val_x[:num_samples]
    cond = None if reference.val_cond is None else reference.val_cond[:num_samples]
    log_p = log_likelihood(model, x.to(model.device), cond, **options)
    dim = math.prod(x.shape[1:])
    return {"nll": float(-log_p.mean()), "bits_per_dim": float(bits_per_dim(log_p, dim).mean())}


def evaluate(
    model: GenerativeModule | str | Path,
    datamodule: LightningDataModule | None = None,
    sampler: Sampler | None = None,
    num_samples: int = 2000,
    batch_size: int = 1000,
    seed: int = 0,
    nll_samples: int = 500,
    nll_options: dict[str, Any] | None = None,
    metric_options: MetricOptions | None = None,
    guidance_scale: float | None = None,
    calibration: CalibrationOptions | None = None,
) -> Evaluation:
    """Sample a model and compare the samples with its held-out data.

    Args:
        model: a :class:`GenerativeModule`, or a checkpoint path (EMA weights when present).
        datamodule: the data to compare with; by default rebuilt from the checkpoint's run
            (``<run>/.hydra/config.yaml``), which needs ``model`` to be a path.
        sampler: a sampler other than the model's own.
        num_samples: samples to generate (drawn with the held-out conditions, cycled).
        batch_size: samples per network batch.
        seed: seed of the sampling noise and the metrics.
        nll_samples: held-out samples whose likelihood is computed (flow matching; 0: none).
        nll_options: keyword arguments of :func:`flowdiff.metrics.log_likelihood`.
        metric_options: sizes and seeds of the metrics.
        guidance_scale: classifier-free guidance, where the model's ``generate`` takes it.
        calibration: sizes of the SBC and coverage checks run for conditional vector models
            (``CalibrationOptions(enabled=False)``: none).

    Returns:
        An :class:`Evaluation` with ``metrics`` and the real-vs-real ``floor``; metrics that
        came out NaN/inf raise a :class:`~flowdiff.errors.NonFiniteSampleWarning` naming them.

    Raises:
        InputTypeError: an argument of the wrong type (a ``TypeError``).
        InputValueError: a count out of range, or no datamodule for a module (a ``ValueError``).
    """
    counts = {
        "num_samples": num_samples,
        "batch_size": batch_size,
        "seed": seed,
        "nll_samples": nll_samples,
    }
    options = {
        "nll_options": nll_options,
        "metric_options": metric_options,
        "calibration": calibration,
    }
    check_evaluate_args(model, datamodule, sampler, counts, options, guidance_scale)
    if isinstance(model, (str, os.PathLike)):
        path, model = model, load_model(model).model  # the checkpoint first: is it there?
        datamodule = datamodule or build_datamodule(path)
    if datamodule is None:
        raise InputValueError("evaluate(model=<module>) needs datamodule=... to compare against.")
    datamodule.setup("fit")
    reference = reference_from(datamodule, model)
    suite = MetricSuite(reference, metric_options)
    options = generate_kwargs(model, guidance_scale)
    sampler = sampler or model.sampler
    result = sample_and_score(model, suite, sampler, num_samples, batch_size, seed, **options)
    result.floor = suite.floor()
    result.metrics.update(
        likelihood_metrics(model, reference, nll_samples, seed=seed, **(nll_options or {}))
    )
    result.calibration = calibrate(model, reference, calibration)
    if result.calibration is not None:
        result.metrics.update(result.calibration.metrics())
    warn_nonfinite_metrics(result.metrics)
    return result
