"""Lightning callbacks of flowdiff (Lightning's own ones are used directly from configs)."""

from flowdiff.training.callbacks.divergence_guard import DivergenceGuard
from flowdiff.training.callbacks.early_stopping import EarlyStopping
from flowdiff.training.callbacks.exception_checkpoint import ExceptionCheckpoint
from flowdiff.training.callbacks.nan_guard import NonFiniteGuard
from flowdiff.training.callbacks.progress_bar import TimedProgressBar
from flowdiff.training.callbacks.records import RunRecords
from flowdiff.training.callbacks.rng_state import RNGState
from flowdiff.training.callbacks.run_summary import RunSummary
from flowdiff.training.callbacks.sample_figures import SampleFigures

__all__ = [
    "DivergenceGuard",
    "EarlyStopping",
    "ExceptionCheckpoint",
    "NonFiniteGuard",
    "RNGState",
    "RunRecords",
    "RunSummary",
    "SampleFigures",
    "TimedProgressBar",
]
