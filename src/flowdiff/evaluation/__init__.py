"""Evaluating trained models: sample, score against held-out real data, sweep samplers, compare
runs. :func:`evaluate` is the Python entry; ``flowdiff-eval`` the command line."""

from flowdiff.evaluation.api import Evaluation, evaluate
from flowdiff.evaluation.reference import Reference
from flowdiff.evaluation.suite import MetricOptions, MetricSuite

__all__ = ["Evaluation", "MetricOptions", "MetricSuite", "Reference", "evaluate"]
