"""Errors a user can cause, each caught at the edge and printed as one line by the CLI.

Each subclasses the built-in kind a caller catches (:class:`ValueError`, :class:`TypeError`,
:class:`FileNotFoundError`, :class:`OSError`, :class:`RuntimeError`) as well, so code that already
catches those keeps working; the CLI recognises :class:`FlowdiffError` and prints its message
without a traceback.
"""

from __future__ import annotations


class FlowdiffError(Exception):
    """Base of every error whose message tells the user what to change."""


class ConfigError(FlowdiffError, ValueError):
    """A config value of the wrong type or out of range; the message names the key."""


class DataError(FlowdiffError, ValueError):
    """Data that cannot be used: missing, unreadable, mis-shaped or non-finite."""


class CheckpointError(FlowdiffError, ValueError):
    """A checkpoint that is missing, unreadable, untrusted or made for another model."""


class OutputError(FlowdiffError, OSError):
    """An output folder that cannot be written, or would overwrite an earlier run."""


class NonFiniteError(FlowdiffError, RuntimeError):
    """Training produced a NaN/inf loss or gradient and was configured to stop."""


class FlowdiffDeprecationWarning(FutureWarning):
    """A renamed setting or argument was used; the message names its new name
    (:mod:`flowdiff.config.settings` lists every rename)."""


def warn_renamed(old: str, new: str, stacklevel: int = 3) -> None:
    """The one-line deprecation message for ``old``, now called ``new``."""
    import warnings

    warnings.warn(
        f"{old} is deprecated; use {new} (same meaning).",
        FlowdiffDeprecationWarning,
        stacklevel=stacklevel,
    )


class InputTypeError(FlowdiffError, TypeError):
    """An argument of the wrong type (a float where a count goes, a string for a tensor...)."""


class InputValueError(FlowdiffError, ValueError):
    """An argument of the right type but an impossible value, shape or size, named with the fix."""


class ModelNotFoundError(CheckpointError, FileNotFoundError):
    """A checkpoint, weights folder or Hub id that does not exist where it was looked for (both a
    :class:`CheckpointError` and a :class:`FileNotFoundError`)."""


class DamagedFileError(CheckpointError):
    """A checkpoint or weights file whose bytes are damaged (CRC or digest mismatch, truncated,
    unparsable); the message names the file."""


class DiskFullError(OutputError):
    """A write that failed for lack of space (ENOSPC/EDQUOT); the message names the file and
    says what was kept."""


class DeviceError(FlowdiffError, RuntimeError):
    """A device that is asked for but not present (``device=cuda`` on a machine without a GPU)."""


class NonFiniteSampleWarning(RuntimeWarning):
    """Generated samples hold NaN or inf values (a diverged network or sampler)."""
