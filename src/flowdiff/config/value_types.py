"""Values of the wrong type for the constructor they go to, refused before anything is built.

``model.network.hidden=abc`` composes (Hydra has no types for ``_target_`` nodes) and used to
fail inside torch (``empty(): argument 'size' failed to unpack...``). Every flowdiff class a
config node names says in its annotations what each argument takes; a scalar value of another
type (a word for an ``int``, a number for a ``bool``...) is named here, with its key, the type
and the default, before any object is built.
"""

from __future__ import annotations

import importlib
import inspect
import types
import typing
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from flowdiff.errors import ConfigError

#: annotations checked; an argument whose annotation has any other member is left to its class
SCALARS = (bool, int, float, str, type(None))


def accepted_types(annotation: Any) -> tuple[type, ...] | None:
    """The scalar types an annotation accepts (``int | None`` -> ``(int, NoneType)``), or
    ``None`` when it names anything else (sequences, modules, ``Any``...)."""
    members = typing.get_args(annotation) if _is_union(annotation) else (annotation,)
    if not members or not all(member in SCALARS for member in members):
        return None
    return tuple(members)


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def fits(value: Any, accepted: tuple[type, ...]) -> bool:
    """Whether ``value`` is of an accepted type (an ``int`` serves a ``float``; a ``bool`` serves
    only a ``bool``)."""
    if isinstance(value, bool):
        return bool in accepted
    if isinstance(value, int) and float in accepted:
        return True
    return isinstance(value, tuple(t for t in accepted if t is not bool))


#: how a type is written in YAML, for the messages
_SPELLED = {bool: ["true", "false"], int: ["a whole number"], float: ["a number"]}
_SPELLED |= {str: ["a string"], type(None): ["null"]}


def spelled(accepted: tuple[type, ...]) -> str:
    """``(bool, NoneType)`` -> ``"true, false or null"``."""
    words = [word for kind in accepted for word in _SPELLED[kind]]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _locate(target: str) -> Any:
    """The object a dotted ``_target_`` names (``flowdiff.networks.CNN``), imported quietly."""
    parts = target.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            found = getattr(found, attribute)
        return found
    raise ImportError(target)


def _hints(found: Any) -> tuple[dict[str, Any], inspect.Signature] | None:
    """Annotations and signature of a class's ``__init__`` or of a function."""
    try:
        function = found.__init__ if isinstance(found, type) else found
        return typing.get_type_hints(function), inspect.signature(function)
    except Exception:  # annotations it cannot resolve: not checked
        return None


def check_fields(node: DictConfig, takes: Any, key: str) -> None:
    """Refuse a value of ``node`` whose type the annotation of the same argument of ``takes``
    (a class, a dataclass or a function) does not accept, naming ``key.<argument>``, the type
    and the default."""
    found = _hints(takes)
    if found is None:
        return
    hints, signature = found
    label = f"{takes.__module__}.{takes.__qualname__}"
    for name in node:
        if name.startswith("_") or name not in hints or OmegaConf.is_missing(node, name):
            continue
        accepted = accepted_types(hints[name])
        try:
            value = node[name]
        except Exception:  # an interpolation that cannot resolve: Hydra names it later
            continue
        if accepted is None or isinstance(value, DictConfig | ListConfig) or fits(value, accepted):
            continue
        default = signature.parameters[name].default
        shown = str(default).lower() if isinstance(default, bool) else default
        fix = "" if default in (inspect.Parameter.empty, None) else f", e.g. {key}.{name}={shown}"
        raise ConfigError(
            f"{key}.{name}={value!r} must be {spelled(accepted)} (the {name} of {label}){fix}."
        )


def check_node(node: DictConfig, key: str) -> None:
    """:func:`check_fields` of a config node against the flowdiff class or function its
    ``_target_`` names (other targets are left to Hydra)."""
    target = node.get("_target_")
    if not (isinstance(target, str) and target.startswith("flowdiff.")):
        return
    try:
        takes = _locate(target)
    except Exception:  # a misspelt target: Hydra names it when it builds the node
        return
    check_fields(node, takes, key)


def check_value_types(cfg: DictConfig, key: str = "") -> None:
    """:func:`check_node` on every node of ``cfg`` that names a flowdiff ``_target_``."""
    if not isinstance(cfg, DictConfig):
        return
    if "_target_" in cfg:
        check_node(cfg, key)
    for name in cfg:
        if OmegaConf.is_missing(cfg, name) or OmegaConf.is_interpolation(cfg, name):
            continue
        child = cfg[name]
        if isinstance(child, DictConfig):
            check_value_types(child, f"{key}.{name}" if key else str(name))
