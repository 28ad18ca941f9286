"""A prior stored as plain tensors and names, so a posterior file loads without unpickling.

Stored: sbi's ``BoxUniform`` and ``torch.distributions`` classes whose parameters are tensors
(``Normal``, ``Uniform``, ``MultivariateNormal``, ``Independent`` of those...). Anything else
(a custom prior class, a prior holding functions) is not stored: ``save`` says so and
``Posterior.load(path, prior=...)`` takes it.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, distributions

#: The recorded kind of sbi's box prior.
BOX = "sbi.BoxUniform"


def _params(prior: distributions.Distribution) -> dict[str, Tensor]:
    if isinstance(prior, distributions.MultivariateNormal):
        return {"loc": prior.loc, "scale_tril": prior.scale_tril}
    stored = vars(prior)
    return {n: stored[n] for n in prior.arg_constraints if isinstance(stored.get(n), Tensor)}


def prior_record(prior) -> dict[str, Any] | None:
    """The prior as ``{"kind": ..., ...tensors}``, or ``None`` when it cannot be stored
    (rebuilt and compared on a few draws before it is trusted)."""
    try:
        record = _record(prior)
        rebuilt = rebuild_prior(record)
        theta = prior.sample((4,))
        same = torch.allclose(rebuilt.log_prob(theta), prior.log_prob(theta), equal_nan=True)
    except Exception:
        return None
    return record if same else None


def _record(prior) -> dict[str, Any]:
    if type(prior).__name__ == "BoxUniform":
        return {"kind": BOX, "low": prior.base_dist.low, "high": prior.base_dist.high}
    if type(prior) is distributions.Independent:
        base = _record(prior.base_dist)
        return {"kind": "Independent", "base": base, "ndims": prior.reinterpreted_batch_ndims}
    kind = type(prior).__name__
    if getattr(distributions, kind, None) is not type(prior):
        raise TypeError(f"{kind} is not a torch.distributions class")
    return {"kind": kind, "params": {k: v.detach().cpu() for k, v in _params(prior).items()}}


def rebuild_prior(record: dict[str, Any]):
    """The prior a :func:`prior_record` describes (only ``torch.distributions`` classes and
    sbi's ``BoxUniform``)."""
    if record["kind"] == BOX:
        from sbi.utils import BoxUniform

        return BoxUniform(record["low"], record["high"])
    if record["kind"] == "Independent":
        return distributions.Independent(rebuild_prior(record["base"]), record["ndims"])
    cls = getattr(distributions, record["kind"])
    if not (isinstance(cls, type) and issubclass(cls, distributions.Distribution)):
        raise TypeError(f"{record['kind']} is not a distribution")
    return cls(**record["params"])
