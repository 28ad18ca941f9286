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


def test_lightning_precisions_are_what_the_trainer_accepts():
    from lightning.pytorch import Trainer

    precisions = compat.lightning_precisions()
    assert {"32-true", "bf16-mixed", "16-mixed", 32, "64"} <= set(precisions)
    Trainer(precision=precisions[0], accelerator="cpu", logger=False)  # a listed one is taken
    with pytest.raises(ValueError, match="Precision '8' is invalid"):
        Trainer(precision="8", accelerator="cpu", logger=False)


def test_a_moved_private_name_fails_loudly_naming_the_package_version():
    with pytest.raises(ImportError, match=r"torchdiffeq \S+ no longer has"):
        compat._private("torchdiffeq._impl.odeint", "NO_SUCH_TABLE", "torchdiffeq")


def test_a_fused_optimizer_skips_its_step_where_found_inf_is_set():
    weight = torch.nn.Parameter(torch.ones(3))
    optimizer = torch.optim.AdamW([weight], lr=0.1, fused=True)
    weight.grad = torch.ones(3)
    assert compat.skip_step_where(optimizer, torch.tensor(1.0))
    optimizer.step()
    assert torch.equal(weight.detach(), torch.ones(3))
    assert optimizer.state[weight]["step"] == 0 and not optimizer.state[weight]["exp_avg"].any()
    compat.skip_step_where(optimizer, torch.tensor(0.0))
    optimizer.step()
    assert (weight.detach() < 1).all() and optimizer.state[weight]["step"] == 1


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_flag_nonfinite_sets_the_flag_and_changes_no_value(dtype):
    tiny = torch.finfo(dtype).tiny / 4  # a subnormal: a multiply could flush it to zero
    tensors = [torch.tensor([1.5, -0.0, tiny], dtype=dtype), torch.randn(3, 4).to(dtype)]
    before = [t.clone() for t in tensors]
    found = torch.zeros(())
    compat.flag_nonfinite(tensors, found)
    assert float(found) == 0.0
    for got, want in zip(tensors, before, strict=True):  # bitwise: the sign of -0.0 too
        assert torch.equal(got.view(-1).view(torch.uint8), want.view(-1).view(torch.uint8))
    for bad in (float("nan"), float("inf"), -float("inf")):
        found = torch.zeros(())
        poisoned = [tensors[0], torch.tensor([0.0, bad], dtype=dtype)]
        compat.flag_nonfinite(poisoned, found)
        assert float(found) == 1.0
    found = torch.ones(())
    compat.flag_nonfinite(tensors, found)
    assert float(found) == 1.0  # a flag already set stays set


def test_an_unfused_optimizer_is_left_alone():
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.ones(3))], fused=False)
    assert not compat.skip_step_where(optimizer, torch.tensor(1.0))
    assert not hasattr(optimizer, "found_inf")


def test_lightning_builds_leaf_specs_without_the_deprecated_constructor():
    import warnings

    from lightning.pytorch.utilities import _pytree as lightning_pytree
    from torch.utils import _pytree as torch_pytree

    patched = compat.lightning_leaf_specs()
    assert patched == hasattr(torch_pytree, "treespec_leaf") or lightning_pytree.LeafSpec is (
        getattr(torch_pytree, "treespec_leaf", None)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the FutureWarning would raise here
        leaves, spec = lightning_pytree._tree_flatten([object(), {"a": object()}])
    assert len(leaves) == 2 and spec.num_leaves == 2


def test_lightning_weight_averaging_keeps_its_averaged_model_where_compat_reads_it():
    from lightning.pytorch.callbacks import WeightAveraging

    from flowdiff.compat import averaged_model

    callback = WeightAveraging()
    assert averaged_model(callback) is None  # before setup
    with pytest.raises(ImportError, match=r"WeightAveraging\._average_model"):
        averaged_model(object())


def test_no_module_filters_the_leaf_spec_warning():
    """Issue 22: the LeafSpec FutureWarning is fixed at its cause (``lightning_leaf_specs``), so
    no command or call of flowdiff hides it with a filter (one would also hide a regression)."""
    from tests.helpers.config import SRC

    filters = [
        f"{path.relative_to(SRC)}:{number}"
        for path in sorted(SRC.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "filterwarnings" in line and "LeafSpec" in line
    ]
    assert not filters, filters


def test_lightning_still_names_the_current_hook_on_the_module():
    """flowdiff.model.hook_names stores this attribute cheaply; a release that renames it only
    loses the saving, and this test says so."""
    import lightning as L

    from flowdiff.model.hook_names import HOOK_NAME

    seen = []

    class Tiny(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(2, 1)

        def training_step(self, batch, batch_idx):
            seen.append(getattr(self, HOOK_NAME))
            return self.layer(batch[0]).pow(2).mean()

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(4, 2)), 2)
    trainer = L.Trainer(max_steps=1, logger=False, enable_progress_bar=False,
                        enable_checkpointing=False, enable_model_summary=False)  # fmt: skip
    trainer.fit(Tiny(), data)
    assert seen == ["training_step"]


def test_the_foreach_lerp_and_copy_match_their_one_tensor_forms():
    averages = [torch.zeros(3), torch.ones(2, 2, dtype=torch.float64)]
    values = [torch.full((3,), 4.0), torch.full((2, 2), 3.0, dtype=torch.float64)]
    expected = [a.clone().lerp_(v, 0.25) for a, v in zip(averages, values, strict=True)]
    compat.lerp_all_(averages, values, 0.25)
    for got, want in zip(averages, expected, strict=True):
        assert torch.equal(got, want)
    compat.lerp_all_(averages[:1], values[:1], torch.tensor(0.5))  # a 0-d tensor weight
    assert torch.equal(averages[0], expected[0].lerp(values[0], 0.5))
    compat.copy_all_(averages, values)
    assert all(torch.equal(a, v) for a, v in zip(averages, values, strict=True))
