"""Lightning callbacks of flowdiff (Lightning's own ones are used directly from configs)."""

from flowdiff.callbacks.sample_figures import SampleFigures

__all__ = ["SampleFigures"]
