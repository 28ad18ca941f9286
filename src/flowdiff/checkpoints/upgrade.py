"""Format upgrades: checkpoints and Hugging Face folders written by earlier versions of flowdiff
are brought up to the current record format when read, so they keep loading (for sampling and
for resuming alike).

- Format 1 -> 2: networks name the shape of float conditions ``cond_shape`` (any shape) instead
  of the width ``cond_dim`` of vector conditions, and their condition embedding's weights moved
  from ``network.cond.*`` to ``network.cond.embedding.*``.
- Format 2 -> 3: components are named by their public import path (``flowdiff.networks.CNN``
  instead of ``flowdiff.networks.cnn.CNN``: :data:`flowdiff.components.ALIASES`), and
  ``DiffusersSampler``'s ``num_inference_steps`` is called ``steps`` like every sampler's.
"""

from __future__ import annotations

from typing import Any

from flowdiff.components import current_name

#: the version of the ``flowdiff`` record that :class:`GenerativeModule` writes
RECORD_FORMAT = 3

#: the parts of a model, each recorded as a :func:`~flowdiff.components.describe` config
PARTS = ("network", "path", "sampler")

#: format 1 -> 2: the condition embedding moved inside the networks' ``ConditionInput``
_RENAMED_PREFIXES = {
    f"network.cond.{name}": f"network.cond.embedding.{name}"
    for name in ("null", "classes", "vector")
}

#: format 2 -> 3: ``_target_`` -> {old argument: new argument}
_RENAMED_ARGUMENTS = {"flowdiff.samplers.DiffusersSampler": {"num_inference_steps": "steps"}}


def _rename(record: Any) -> None:
    """``record`` and the records nested in it (a path's coupling) under today's names."""
    if not isinstance(record, dict):
        return
    if isinstance(record.get("_target_"), str):
        record["_target_"] = current_name(record["_target_"])
        for old, new in _RENAMED_ARGUMENTS.get(record["_target_"], {}).items():
            if old in record:
                record[new] = record.pop(old)
    for value in record.values():
        _rename(value)


def upgrade_parts(parts: dict[str, Any]) -> dict[str, Any]:
    """The network, path and sampler records of ``parts`` (a checkpoint's ``flowdiff`` record or
    a Hub folder's ``config.json``) under today's names, in place; current records pass as they
    are."""
    for part in PARTS:
        _rename(parts.get(part))
    return parts


def _upgrade_1_to_2(checkpoint: dict[str, Any]) -> None:
    network = checkpoint["flowdiff"]["network"]
    cond_dim = network.pop("cond_dim", 0)
    if cond_dim:
        network["cond_shape"] = [cond_dim]
    state = checkpoint.get("state_dict", {})
    for key in list(state):
        for old, new in _RENAMED_PREFIXES.items():
            if key == old or key.startswith(old + "."):
                state[new + key[len(old) :]] = state.pop(key)


def upgrade(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """Bring a flowdiff checkpoint up to :data:`RECORD_FORMAT` in place (see the module's
    docstring for each step)."""
    record = checkpoint.get("flowdiff")
    if record is None or record.get("format", 1) >= RECORD_FORMAT:
        return checkpoint
    if record.get("format", 1) < 2:
        _upgrade_1_to_2(checkpoint)
    upgrade_parts(record)
    record["format"] = RECORD_FORMAT
    return checkpoint
