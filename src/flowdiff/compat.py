"""The one place flowdiff reads a dependency's private API.

Everything else uses public interfaces. Each function here is pinned by a test in
``tests/unit/test_compat.py`` that fails, naming the function, on a release that moves or renames
what it reads; the error raised here says which package version broke it.
"""

from __future__ import annotations

import importlib
from importlib.metadata import version


def _private(module: str, name: str, package: str):
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as error:
        raise ImportError(
            f"flowdiff.compat reads {module}.{name}, which {package} {version(package)} no longer "
            f"has ({error}); update flowdiff or install the {package} release it was tested with."
        ) from error


def torchdiffeq_solvers() -> dict[str, type]:
    """torchdiffeq's method table, ``{name: solver class}``.

    torchdiffeq has no public list of its methods; ``odeint`` validates ``method`` against this
    private table, so reading it (rather than copying it) keeps flowdiff's check in step.
    """
    return dict(_private("torchdiffeq._impl.odeint", "SOLVERS", "torchdiffeq"))


def adaptive_torchdiffeq_methods() -> tuple[str, ...]:
    """The torchdiffeq methods that choose their own step size (they take tolerances, not a
    step size): those whose solver derives from torchdiffeq's ``AdaptiveStepsizeODESolver``."""
    base = _private("torchdiffeq._impl.solvers", "AdaptiveStepsizeODESolver", "torchdiffeq")
    return tuple(name for name, solver in torchdiffeq_solvers().items() if issubclass(solver, base))


def lightning_precisions() -> tuple:
    """Every ``precision`` Lightning's Trainer accepts (``"bf16-mixed"``, ``32``...): Lightning
    validates against this private ``Literal`` and has no public list."""
    from typing import get_args

    def flat(kind) -> list:
        args = get_args(kind)
        return [kind] if not args else [a for arg in args for a in flat(arg)]

    kinds = _private("lightning.fabric.connector", "_PRECISION_INPUT", "lightning")
    return tuple(dict.fromkeys(flat(kinds)))


def skip_step_where(optimizer, found_inf) -> bool:
    """Make ``optimizer``'s next ``step()`` a no-op on the device where ``found_inf`` (a 0-d
    float tensor on the parameters' device, 1.0 or 0.0) is 1, with no host sync.

    torch's fused Adam, AdamW, SGD and Adagrad kernels take ``found_inf`` (the weights, moments
    and step count stay as they were when it is 1) and read it from the optimizer's
    ``found_inf`` attribute, the protocol ``torch.amp.GradScaler`` uses for them. Returns
    ``False``, setting nothing, for an optimizer that is not fused (no kernel takes the flag).
    """
    if not optimizer.defaults.get("fused"):
        return False
    optimizer.found_inf = found_inf
    return True


def flag_nonfinite(tensors: list, found_inf) -> None:
    """Set ``found_inf`` (a one-element float32 tensor on the tensors' device) to 1 if any of
    ``tensors`` (floating point, all on that device and of one dtype) holds a NaN or inf; leave
    it as it is otherwise. One kernel for the whole list and no host sync; the tensors keep
    their values.

    torch's ``GradScaler`` checks gradients with the private
    ``_amp_foreach_non_finite_check_and_unscale_``, which also multiplies them by an inverse
    scale: 1 here, which changes no value. A public ``foreach`` norm of the same list took three
    times as long on the CPU (one kernel per tensor there).
    """
    import torch

    check = _private("torch", "_amp_foreach_non_finite_check_and_unscale_", "torch")
    check(tensors, found_inf, torch.ones((), dtype=torch.float32, device=found_inf.device))


def lerp_all_(averages: list, values: list, weight) -> None:
    """``average.lerp_(value, weight)`` for every pair, in one call: torch's underscore-named
    ``foreach`` op (documented as beta), one kernel launch per device and dtype instead of one per
    tensor. ``weight``: a float or a 0-d tensor on the averages' device."""
    _private("torch", "_foreach_lerp_", "torch")(averages, values, weight)


def copy_all_(targets: list, sources: list) -> None:
    """``target.copy_(source)`` for every pair (same devices, dtypes and shapes), in one call:
    torch's underscore-named ``foreach`` op."""
    _private("torch", "_foreach_copy_", "torch")(targets, sources)


def lightning_leaf_specs() -> bool:
    """Make Lightning's pytree helper build leaf specs with torch's public ``treespec_leaf``.

    ``lightning.pytorch.utilities._pytree._tree_flatten`` (which every ``Trainer.fit`` runs on
    its dataloaders) calls ``torch.utils._pytree.LeafSpec()``, a constructor torch 2.10+
    deprecates with a ``FutureWarning`` that reaches users on each fit. torch's replacement,
    ``treespec_leaf()``, returns the same (shared) leaf spec, so pointing Lightning's module-level
    name at it changes nothing but the warning. Returns whether it did (``False``: torch has no
    ``treespec_leaf`` and nothing to fix, or Lightning no longer uses ``LeafSpec`` there).
    """
    import torch.utils._pytree as torch_pytree

    leaf = getattr(torch_pytree, "treespec_leaf", None)
    module = importlib.import_module("lightning.pytorch.utilities._pytree")
    if leaf is None or getattr(module, "LeafSpec", None) is not torch_pytree.LeafSpec:
        return False
    module.LeafSpec = leaf
    return True


def averaged_model(callback):
    """The ``torch.optim.swa_utils.AveragedModel`` that Lightning's ``WeightAveraging``
    ``callback`` keeps (``None`` before its ``setup``).

    Lightning holds it in the private ``_average_model`` and offers no accessor; flowdiff's EMA
    reads it once per run to give it a cheaper update (:mod:`flowdiff.training.callbacks.ema`).
    """
    if not hasattr(callback, "_average_model"):
        raise ImportError(
            "flowdiff.compat reads WeightAveraging._average_model, which lightning "
            f"{version('lightning')} no longer has; update flowdiff or install the lightning "
            "release it was tested with."
        )
    return callback._average_model
