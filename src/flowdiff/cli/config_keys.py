"""The config key in front of a library error's argument names.

The library speaks in its own arguments (``t_max=2 must lie in (0, 1]``), right for Python
callers; on the command line the user typed config keys. An error is traced to the config node
that built the object it came from: Hydra's ``full_key`` when a constructor raised inside
``instantiate``, else the innermost frame on the error's traceback that runs a flowdiff object or
function some node's ``_target_`` names (a datamodule's ``setup``, a learning-rate schedule). Every
``name=`` (or ``name.keyword=``) of that object's arguments in the message then becomes
``<key>.name=``, and a ``None``/``True``/``False`` after it ``null``/``true``/``false``, as an
override spells them: ``model.path.t_max=2 must lie in (0, 1]``.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from types import FrameType, TracebackType
from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import get_object
from omegaconf import DictConfig, OmegaConf


def _configured(cfg: DictConfig) -> Iterator[tuple[str, Any, dict[str, Any]]]:
    """``(key, target, node)`` for every node whose ``_target_`` is a flowdiff class or function
    (a partial such as a learning-rate schedule)."""
    stack: list[tuple[str, Any]] = [("", OmegaConf.to_container(cfg, resolve=False))]
    while stack:
        key, node = stack.pop()
        if isinstance(node, dict):
            target = node.get("_target_")
            if isinstance(target, str) and target.startswith("flowdiff.") and key:
                try:
                    found = get_object(target)
                except Exception:  # a misspelt _target_ has its own message
                    found = None
                if isinstance(found, type) or inspect.isfunction(found):
                    yield key, found, node
            stack += [(f"{key}.{k}" if key else str(k), v) for k, v in node.items()]


def _frames(traceback: TracebackType | None) -> list[FrameType]:
    """The frames of ``traceback``, innermost first."""
    frames = []
    while traceback is not None:
        frames.append(traceback.tb_frame)
        traceback = traceback.tb_next
    return frames[::-1]


def _runs(frame: FrameType, target: Any) -> bool:
    """Whether ``frame`` is a method of a ``target`` instance, or the ``target`` function."""
    if isinstance(target, type):
        return isinstance(frame.f_locals.get("self"), target)
    return frame.f_code is target.__code__


def _argument_names(target: Any, node: dict[str, Any]) -> set[str]:
    """The config node's keys and the arguments of ``target`` (its flowdiff bases' too)."""
    names = {str(k) for k in node if not str(k).startswith("_")}
    functions = [target]
    if isinstance(target, type):
        functions = [
            base.__init__
            for base in target.__mro__
            if base.__module__.startswith("flowdiff.") and "__init__" in vars(base)
        ]
    for function in functions:
        parameters = inspect.signature(function).parameters.values()
        names |= {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return names - {"self"}


def _source(error: BaseException, cfg: DictConfig) -> tuple[str, set[str]] | None:
    """The config key of the object ``error`` came from and its argument names."""
    configured = list(_configured(cfg))
    full_key = re.search(r"full_key: (\S+)", str(error))
    if isinstance(error, InstantiationException) and full_key:
        key = full_key.group(1)
        node = OmegaConf.select(cfg, key)
        names = {str(k) for k in node if not str(k).startswith("_")} if node else set()
        for other_key, target, other in configured:
            if other_key == key:
                names |= _argument_names(target, other)
        return key, names
    cause = error.__cause__ if isinstance(error, InstantiationException) else error
    for frame in _frames(getattr(cause, "__traceback__", None)):
        for key, target, node in configured:
            if _runs(frame, target):
                return key, _argument_names(target, node)
    return None


def with_config_keys(message: str, error: BaseException, cfg: DictConfig | None) -> str:
    """``message`` with ``name=`` of the source object's arguments written ``<key>.name=``."""
    if cfg is None:
        return message
    source = _source(error, cfg)
    if source is None or not source[1]:
        return message
    key, names = source
    alternatives = "|".join(sorted(map(re.escape, names), key=len, reverse=True))
    # `name=` and `name.keyword=` (a keyword of a partial argument: optimizer.fused=)
    message = re.sub(rf"(?<![\w./-])((?:{alternatives})(?:\.\w+)*=)", rf"{key}.\1", message)
    # Python's literals after a config key as an override spells them
    return re.sub(
        rf"(?<![\w./-])({re.escape(key)}\.[\w.]+=)(None|True|False)\b",
        lambda m: m.group(1) + {"None": "null"}.get(m.group(2), m.group(2).lower()),
        message,
    )
