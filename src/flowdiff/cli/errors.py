"""One clear line for every error a user can cause; the traceback only on request.

Every console script runs its ``hydra.main`` function through :func:`run_cli`. Hydra is told to
raise (``HYDRA_FULL_ERROR=1``) instead of printing its own multi-line report, so config
composition errors, constructor errors, data and checkpoint errors all arrive here and are
printed as ``<program>: error: <message>`` with exit code 1; the library's argument names get
the config key they came from (:mod:`flowdiff.cli.config_keys`). ``FLOWDIFF_DEBUG=1`` re-raises them
with the full traceback. Anything else is a bug and keeps its traceback. Errors raised inside the
task are reported by :func:`user_errors` before Hydra prints its "Error executing job" banner;
a run stopped by SIGTERM (after saving ``last.ckpt``) says how to resume and exits with 143.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from hydra.errors import HydraException, InstantiationException
from omegaconf import DictConfig
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from flowdiff.cli.config_keys import with_config_keys
from flowdiff.cli.extras import missing_extra_message
from flowdiff.config.location import config_dir
from flowdiff.config.null_groups import null_groups_removed
from flowdiff.config.settings import spelled_as_typed
from flowdiff.errors import FlowdiffDeprecationWarning, FlowdiffError

DEBUG_ENV = "FLOWDIFF_DEBUG"
#: Exit code of a run stopped by SIGTERM after saving its checkpoint (128 + 15, as a shell
#: reports a terminated process): it did not finish, so job chains must not carry on as if it did.
SIGTERM_EXIT = 143
#: Built-in exceptions raised at the edges for what the user gave: a value, a file, a key.
USER_ERRORS = (FlowdiffError, HydraException, OmegaConfBaseException, ValueError, OSError, KeyError)
DEBUG_HINT = f"(set {DEBUG_ENV}=1 for the traceback)"


#: Whether the user (not :func:`run_cli`) had set ``HYDRA_FULL_ERROR=1``.
_USER_FULL_ERROR = [os.environ.get("HYDRA_FULL_ERROR") == "1"]


def debug_enabled() -> bool:
    """``FLOWDIFF_DEBUG=1``, or Hydra's own ``HYDRA_FULL_ERROR=1`` set by the user."""
    return os.environ.get(DEBUG_ENV, "").lower() in ("1", "true", "yes") or _USER_FULL_ERROR[0]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _hydra_message(error: HydraException) -> str:
    """Hydra's multi-line reports, reduced to what to change."""
    text = str(error).split("Config search path:")[0]
    override = re.search(r"Could not override '([^']+)'\.\s*To append .* use (\S+)", text)
    if override:
        key, plus = override.groups()
        return (
            f"unknown config key {key!r}: no such key in the composed config; check its "
            f"spelling ({_program()} --cfg job lists every key), or use {plus} to add one."
        )
    options = re.search(r"Available options in '([^']+)':(.*)", text, re.S)
    if options:
        head = _one_line(text[: options.start()])
        choices = ", ".join(options.group(2).split())
        return f"{head}; available options in {options.group(1)!r}: {choices}."
    cause = error.__cause__
    extra = f" ({_one_line(str(cause))})" if isinstance(cause, OmegaConfBaseException) else ""
    return _one_line(text) + extra


def _program() -> str:
    """The console script that is running (``flowdiff-eval``...), ``flowdiff-train`` when the
    config was composed elsewhere (the Python API)."""
    name = Path(sys.argv[0]).name
    return name if name.startswith("flowdiff-") else "flowdiff-train"


def _instantiation_message(error: InstantiationException) -> str:
    """The constructor's own message when it is a user error, else Hydra's, with the key."""
    cause = error.__cause__
    if isinstance(cause, USER_ERRORS) and not isinstance(cause, ImportError):
        return user_message(cause) or str(cause)
    key = re.search(r"full_key: (\S+)", str(error))
    lines = [line for line in str(error).splitlines() if not line.startswith("full_key:")]
    text = _one_line(
        " ".join(lines).replace(", set env var HYDRA_FULL_ERROR=1 to see chained exception", "")
    )
    where = f" (building {key.group(1)}: check its _target_ and values)" if key else ""
    return text + where


def _is_lightning_misconfiguration(error: BaseException) -> bool:
    return type(error).__name__ == "MisconfigurationException"


def user_message(error: BaseException) -> str | None:
    """The one-line message for an error a user can fix, or ``None`` for a bug."""
    extra = missing_extra_message(error)
    if extra:
        return extra
    if isinstance(error, InstantiationException):
        return _instantiation_message(error)
    if isinstance(error, HydraException):
        return _hydra_message(error)
    if isinstance(error, MissingMandatoryValue):
        key = error.full_key or "a key"
        return f"{key} is required (it is ??? in the config); pass {key}=<value>."
    if isinstance(error, PermissionError):
        return (
            f"cannot write {str(error.filename or '')!r}: permission denied; run from a "
            "writable folder or choose another one with hydra.run.dir=<folder>."
        )
    if isinstance(error, OSError) and error.filename and error.strerror:
        return (
            f"cannot use {str(error.filename)!r}: {error.strerror}; check the path "
            "(ckpt_path, data.data_dir, run_name or hydra.run.dir)."
        )
    if isinstance(error, KeyError):
        return _one_line(str(error.args[0]) if error.args else repr(error))
    if isinstance(error, USER_ERRORS) or _is_lightning_misconfiguration(error):
        return _one_line(str(error))
    return None


def _is_sigterm(error: SystemExit) -> bool:
    """Lightning's ``SIGTERMException`` (imported lazily: config errors should not wait for
    torch to load)."""
    exceptions = sys.modules.get("lightning.pytorch.utilities.exceptions")
    return exceptions is not None and isinstance(error, exceptions.SIGTERMException)


def _sigterm_message(error: SystemExit) -> str:
    saved = getattr(error, "flowdiff_checkpoint", None)
    if saved is None:
        return "stopped by SIGTERM before any training step finished; nothing new to save."
    return (
        f"stopped by SIGTERM at step {error.flowdiff_step}; saved {saved}. Resume with "
        f"ckpt_path={saved}"
    )


def exit_now(error: Exception) -> None:
    """Report ``error`` and exit 1 even where the caller swallows exceptions (Hydra callbacks
    only warn about theirs): the one-line message, or the traceback when debugging."""
    if debug_enabled():
        traceback.print_exception(error)
    else:
        print(
            f"{Path(sys.argv[0]).name}: error: {user_message(error)} {DEBUG_HINT}", file=sys.stderr
        )
    raise SystemExit(1) from None


def _exit_with_message(error: Exception, cfg: DictConfig | None = None) -> None:
    """Print a user error as one line (in ``cfg``'s keys when given) and exit 1; re-raise bugs,
    and everything when debugging."""
    message = user_message(error)
    if message is None or debug_enabled():
        raise error
    message = spelled_as_typed(with_config_keys(message, error, cfg), cfg)
    print(f"{Path(sys.argv[0]).name}: error: {message} {DEBUG_HINT}", file=sys.stderr)
    raise SystemExit(1) from None


@contextlib.contextmanager
def user_errors(cfg: DictConfig | None = None) -> Iterator[None]:
    """Inside a ``hydra.main`` function: report user errors before Hydra prints its own
    "Error executing job" banner (Hydra catches ``Exception`` but not ``SystemExit``), naming
    the keys of ``cfg`` that the failing objects were built from."""
    try:
        yield
    except Exception as error:
        _exit_with_message(error, cfg)


def _one_line_deprecations(show: Callable[..., None]) -> Callable[..., None]:
    """``warnings.showwarning`` that prints a renamed setting's message as one line
    (``flowdiff-train: warning: model.sampler.num_inference_steps is deprecated; use ...``);
    other warnings as ``show`` does."""

    def showwarning(message, category, filename, lineno, file=None, line=None) -> None:
        if not issubclass(category, FlowdiffDeprecationWarning):
            return show(message, category, filename, lineno, file, line)
        print(f"{Path(sys.argv[0]).name}: warning: {message}", file=file or sys.stderr)

    return showwarning


def run_cli(main: Callable[[], Any]) -> None:
    """Run a ``hydra.main`` function, turning user errors into one line and an exit code;
    deprecated names print a one-line warning."""
    previous = os.environ.get("HYDRA_FULL_ERROR")
    show = warnings.showwarning
    warnings.showwarning = _one_line_deprecations(show)
    _USER_FULL_ERROR[0] = previous == "1"
    os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra raises instead of printing its own report
    sys.argv[1:] = null_groups_removed(sys.argv[1:], config_dir())  # logger=null: ~logger
    try:
        main()
    except SystemExit as error:
        if not _is_sigterm(error):
            raise
        print(f"{Path(sys.argv[0]).name}: {_sigterm_message(error)}", file=sys.stderr)
        sys.exit(SIGTERM_EXIT)
    except Exception as error:
        _exit_with_message(error)
    finally:
        warnings.showwarning = show
        if previous is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = previous
