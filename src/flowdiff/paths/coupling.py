"""Couplings of noise and data for flow matching: which noise sample ``x_0`` travels to which
data sample ``x_1`` in a training batch.

``independent`` keeps the draw as it is (plain conditional flow matching). ``ot`` is minibatch
optimal transport (OT-CFM, Tong et al. 2023; Pooladian et al. 2023): the noise samples are
reordered so that the pairs solve the exact transport problem between the two minibatches under
the squared Euclidean cost. The conditional paths then cross less, so the learned flow is
straighter and a few solver steps go further. With class labels the pairing is made within each
class, so that every pair still joins noise to data of the class it is conditioned on.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def independent(x_0: Tensor, x_1: Tensor, cond: Tensor | None = None) -> Tensor:
    """The noise as drawn: ``x_0`` ``(B, ...)``, independent of ``x_1``."""
    return x_0


def _transport_order(x_0: Tensor, x_1: Tensor) -> Tensor:
    """Indices ``(n,)`` such that ``x_0[order]`` is the optimal partner of each ``x_1``."""
    import ot  # POT pulls in scikit-learn and matplotlib: imported only for OT pairing

    cost = torch.cdist(x_1.flatten(1).double(), x_0.flatten(1).double()).pow(2)
    uniform = np.full(len(x_1), 1.0 / len(x_1))
    plan = ot.emd(uniform, uniform, cost.cpu().numpy())  # a permutation matrix / n
    return torch.as_tensor(plan.argmax(axis=1), device=x_0.device)


def minibatch_ot(x_0: Tensor, x_1: Tensor, cond: Tensor | None = None) -> Tensor:
    """``x_0`` reordered to pair with ``x_1`` by exact optimal transport, within each class.

    Solving the transport problem runs on the CPU (POT), which costs a host sync per step on
    an accelerator.

    Args:
        x_0: noise ``(B, ...)``.
        x_1: data ``(B, ...)``.
        cond: ``None``, or class labels ``(B,)`` (pairs are made within each class).

    Returns:
        A permutation of ``x_0``, shape ``(B, ...)``.
    """
    if cond is None:
        return x_0[_transport_order(x_0, x_1)]
    if cond.dim() != 1 or cond.is_floating_point():
        raise ValueError(
            f"coupling='ot' pairs noise and data within each class, but the condition has "
            f"shape {tuple(cond.shape)} ({cond.dtype}); use coupling='independent' for "
            "vector or image conditions."
        )
    paired = x_0.clone()
    for label in torch.unique(cond):
        members = torch.nonzero(cond == label).flatten()
        paired[members] = x_0[members][_transport_order(x_0[members], x_1[members])]
    return paired


#: coupling name -> function(x_0, x_1, cond) returning the paired noise
COUPLINGS = {"independent": independent, "ot": minibatch_ot}
