"""The Trainer's profiler when none is asked for: Lightning's pass-through one, minus the cost of
its context manager."""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager

from lightning.pytorch.profilers import PassThroughProfiler

#: One reusable context that does nothing (``contextlib.nullcontext`` keeps no state).
_NOTHING = contextlib.nullcontext()


class NoProfiler(PassThroughProfiler):
    """Lightning's :class:`~lightning.pytorch.profilers.PassThroughProfiler` (what a Trainer
    without ``profiler=`` uses), whose ``profile(action)`` returns one shared no-op context.

    Lightning wraps every hook call in ``with trainer.profiler.profile(name)``, every callback's
    included: about eighty times per training step with flowdiff's callbacks. The base class's
    ``profile`` is a generator-based ``@contextmanager`` that builds a generator and calls the
    no-op ``start`` and ``stop`` each time (about a microsecond, 1% of the step of the small
    posterior MLP on a CPU, ``studies/overhead.py``). Nothing is recorded either way;
    ``trainer.profiler=simple`` (or ``advanced``, ``pytorch``) profiles as Lightning does.
    """

    def profile(self, action_name: str) -> AbstractContextManager:
        return _NOTHING
