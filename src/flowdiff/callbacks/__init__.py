"""Lightning callbacks of flowdiff (Lightning's own ones are used directly from configs)."""

from flowdiff.callbacks.divergence_guard import DivergenceGuard
from flowdiff.callbacks.early_stopping import EarlyStopping
from flowdiff.callbacks.exception_checkpoint import ExceptionCheckpoint
from flowdiff.callbacks.nan_guard import NonFiniteGuard
from flowdiff.callbacks.progress_bar import TimedProgressBar
from flowdiff.callbacks.rng_state import RNGState
from flowdiff.callbacks.run_records import RunRecords
from flowdiff.callbacks.sample_figures import SampleFigures

__all__ = [
    "DivergenceGuard",
    "EarlyStopping",
    "ExceptionCheckpoint",
    "NonFiniteGuard",
    "RNGState",
    "RunRecords",
    "SampleFigures",
    "TimedProgressBar",
]
