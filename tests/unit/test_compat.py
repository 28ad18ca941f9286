"""Each private API flowdiff reads (flowdiff.compat) still says what flowdiff expects of it.

A failure here means a dependency release moved or changed it: fix flowdiff.compat, not the test.
"""

from __future__ import annotations

import pytest
import torch
from torchdiffeq import odeint

from flowdiff import compat


def test_torchdiffeq_solver_table_lists_the_methods_odeint_accepts():
    solvers = compat.torchdiffeq_solvers()
    assert {"euler", "midpoint", "rk4", "heun3", "dopri5", "dopri8"} <= set(solvers)
    y0, t = torch.ones(1), torch.tensor([0.0, 1.0])
    for method in ("euler", "dopri5"):  # what the table names, odeint integrates
        odeint(lambda t, y: -y, y0, t, method=method, options=None)
    with pytest.raises(ValueError, match="Invalid method"):
        odeint(lambda t, y: -y, y0, t, method="no_such_method")


def test_adaptive_methods_are_the_step_size_controlled_ones():
    adaptive = set(compat.adaptive_torchdiffeq_methods())
    assert {"dopri5", "dopri8", "bosh3", "adaptive_heun"} <= adaptive
    assert not {"euler", "midpoint", "rk4"} & adaptive


def test_a_moved_private_name_fails_loudly_naming_the_package_version():
    with pytest.raises(ImportError, match=r"torchdiffeq \S+ no longer has"):
        compat._private("torchdiffeq._impl.odeint", "NO_SUCH_TABLE", "torchdiffeq")
