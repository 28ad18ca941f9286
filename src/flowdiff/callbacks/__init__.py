"""Lightning callbacks of flowdiff (Lightning's own ones are used directly from configs)."""

from flowdiff.callbacks.exception_checkpoint import ExceptionCheckpoint
from flowdiff.callbacks.nan_guard import NonFiniteGuard
from flowdiff.callbacks.sample_figures import SampleFigures

__all__ = ["ExceptionCheckpoint", "NonFiniteGuard", "SampleFigures"]
