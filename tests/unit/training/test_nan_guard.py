"""A NaN loss mid-run is skipped or stops the run as configured; last.ckpt stays the last good
state."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from lightning import Callback

from flowdiff.errors import NonFiniteError
from flowdiff.training import build
from flowdiff.training.callbacks import NonFiniteGuard
from tests.helpers.cli import error_line, train
from tests.helpers.faults import PoisonBatch

#: Two epochs of 4 steps; last.ckpt is written after step 4 and step 8.
RUN = ["experiment=toy2d", "max_epochs=2", "trainer.limit_train_batches=4"]
RUN += ["callbacks.sample_figures=null", "model.network.hidden=32"]


class SnapshotLast(Callback):
    """Keeps the bytes of last.ckpt as they were just before the step ``at_step``."""

    def __init__(self, path: Path, at_step: int):
        self.path, self.at_step, self.before = path, at_step, None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == self.at_step:
            self.before = self.path.read_bytes()


def fit(make_config, *overrides, extra=()):
    datamodule, model, trainer = build(make_config("train", *RUN, *overrides))
    trainer.callbacks.extend(extra)
    guard = next(c for c in trainer.callbacks if isinstance(c, NonFiniteGuard))
    return datamodule, model, trainer, guard


def test_skip_drops_the_nan_steps_and_counts_them(make_config):
    datamodule, model, trainer, guard = fit(
        make_config, "callbacks.nan_guard.action=skip", extra=[PoisonBatch([5, 6])]
    )
    with pytest.warns(UserWarning, match="skipped"):
        trainer.fit(model, datamodule=datamodule)
    assert guard.skipped == 2 and trainer.global_step == 8
    assert all(torch.isfinite(p).all() for p in model.parameters())
    last = torch.load(Path(trainer.default_root_dir) / "checkpoints/last.ckpt", weights_only=True)
    assert last["global_step"] == 8
    assert all(torch.isfinite(v).all() for v in last["state_dict"].values())


def test_stop_raises_and_leaves_last_ckpt_untouched(make_config):
    last = Path(make_config().hydra.runtime.output_dir) / "checkpoints" / "last.ckpt"
    snapshot = SnapshotLast(last, at_step=5)
    datamodule, model, trainer, _ = fit(
        make_config, "callbacks.nan_guard.action=stop", extra=[PoisonBatch([5]), snapshot]
    )
    with pytest.raises(NonFiniteError, match=r"step 5.*last.ckpt holds the last good state"):
        trainer.fit(model, datamodule=datamodule)
    assert snapshot.before is not None and last.read_bytes() == snapshot.before
    assert torch.load(last, weights_only=True)["global_step"] == 4


def test_skip_gives_up_after_max_consecutive(make_config):
    datamodule, model, trainer, _ = fit(
        make_config, "callbacks.nan_guard.max_consecutive=3", extra=[PoisonBatch(range(2, 8))]
    )
    with pytest.raises(NonFiniteError, match="for 3 steps in a row"), pytest.warns(UserWarning):
        trainer.fit(model, datamodule=datamodule)
    assert trainer.global_step == 4  # steps 2 and 3 were skipped (still counted), 4 stopped


def test_diverged_weights_are_never_saved(make_config, tmp_path):
    datamodule, model, trainer, _ = fit(make_config, "max_epochs=1")
    trainer.fit(model, datamodule=datamodule)
    last = Path(trainer.default_root_dir) / "checkpoints" / "last.ckpt"
    good = last.read_bytes()
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    with pytest.raises(NonFiniteError, match="refusing to save a diverged checkpoint"):
        trainer.save_checkpoint(last)
    assert last.read_bytes() == good


def test_cli_stop_prints_one_line(capsys, monkeypatch, tmp_path):
    args = [
        *RUN,
        "callbacks.nan_guard.action=stop",
        "+callbacks.poison._target_=tests.helpers.faults.PoisonBatch",
    ]
    code, err = train([*args, "+callbacks.poison.at_steps=[5]"], capsys, monkeypatch, tmp_path)
    line = error_line(err)
    assert code == 1 and "NaN/inf" in line and "step 5" in line
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True)["global_step"] == 4


def test_bad_action_is_refused():
    with pytest.raises(ValueError, match=r"^action='ignore'"):
        NonFiniteGuard(action="ignore")


class SnapshotWeights(Callback):
    """Copies of the weights at the start of the given steps."""

    def __init__(self, at_steps):
        self.at_steps, self.weights = set(at_steps), {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step in self.at_steps:
            self.weights[trainer.global_step] = [p.detach().clone() for p in pl_module.parameters()]


def test_on_device_skip_changes_nothing_and_is_counted_later(make_config):
    """The device-side skip (the GPU default, forced here on the CPU): the fused optimizer's
    found_inf flag makes the bad steps no-ops, with no host read of the check per step."""
    snapshot = SnapshotWeights([5, 7])
    datamodule, model, trainer, guard = fit(
        make_config,
        "callbacks.nan_guard.on_device=true",
        "callbacks.nan_guard.check_every=100",
        extra=[PoisonBatch([5, 6]), snapshot],
    )
    with pytest.warns(UserWarning, match=r"step 5 .*2 such step"):
        trainer.fit(model, datamodule=datamodule)
    assert guard.skipped == 2 and trainer.global_step == 8
    for before, after in zip(snapshot.weights[5], snapshot.weights[7], strict=True):
        assert torch.equal(before, after)
    optimizer = trainer.optimizers[0]
    assert optimizer.defaults["fused"]
    steps = [state["step"] for state in optimizer.state.values() if "step" in state]
    assert steps and all(step == 6 for step in steps)  # the two bad steps were not counted
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_on_device_stop_is_read_before_any_checkpoint(make_config):
    last = Path(make_config().hydra.runtime.output_dir) / "checkpoints" / "last.ckpt"
    datamodule, model, trainer, _ = fit(
        make_config,
        "callbacks.nan_guard.action=stop",
        "callbacks.nan_guard.on_device=true",
        extra=[PoisonBatch([5])],
    )
    with pytest.raises(NonFiniteError, match=r"at step 5 "):
        trainer.fit(model, datamodule=datamodule)
    assert torch.load(last, weights_only=True)["global_step"] == 4


def test_on_device_runs_of_bad_steps_span_reads(make_config):
    datamodule, model, trainer, _ = fit(
        make_config,
        "callbacks.nan_guard.on_device=true",
        "callbacks.nan_guard.max_consecutive=5",
        extra=[PoisonBatch(range(2, 8))],
    )
    # steps 2-3 read at the first epoch's end (a warning), 4-7 continue the run: 6 in a row
    with pytest.raises(NonFiniteError, match="for 6 steps in a row"), pytest.warns(UserWarning):
        trainer.fit(model, datamodule=datamodule)


class PoisonGradient(Callback):
    """Writes inf into one gradient entry of the given steps, after a finite loss."""

    def __init__(self, at_steps):
        self.at_steps = set(at_steps)

    def on_after_backward(self, trainer, pl_module):
        if trainer.global_step in self.at_steps:
            grad = next(p.grad for p in pl_module.parameters() if p.grad is not None)
            grad.view(-1)[-1] = float("inf")


@pytest.mark.parametrize("on_device", ["false", "true"])
def test_a_gradient_alone_going_inf_is_skipped(make_config, on_device):
    """The loss stays finite: only the gradient check catches the step."""
    snapshot = SnapshotWeights([5, 6])
    datamodule, model, trainer, guard = fit(
        make_config,
        f"callbacks.nan_guard.on_device={on_device}",
        extra=[PoisonGradient([5]), snapshot],
    )
    with pytest.warns(UserWarning, match="step 5"):
        trainer.fit(model, datamodule=datamodule)
    assert guard.skipped == 1 and trainer.global_step == 8
    for before, after in zip(snapshot.weights[5], snapshot.weights[6], strict=True):
        assert torch.equal(before, after)
    assert all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.parametrize(
    ("loss", "grad", "scaler", "expected"),
    [
        (1.0, 1.0, None, 0.0),
        (float("nan"), 1.0, None, 1.0),
        (float("inf"), 1.0, None, 1.0),
        (1.0, float("nan"), None, 1.0),
        (None, -float("inf"), None, 1.0),
        (None, 1.0, None, 0.0),
        (float("nan"), 1.0, "scaler", 1.0),  # under a GradScaler: the loss only
        (1.0, float("inf"), "scaler", 0.0),  # gradient overflow is the scaler's business
    ],
)
def test_the_check_flags_the_loss_and_the_gradients(loss, grad, scaler, expected):
    from types import SimpleNamespace

    guard = NonFiniteGuard()
    guard._loss = None if loss is None else torch.tensor(loss)
    grads = [torch.ones(3, 2), torch.tensor([0.5, grad]), torch.ones(4, dtype=torch.float64)]
    trainer = SimpleNamespace(precision_plugin=SimpleNamespace(scaler=scaler))
    found = guard._found_nonfinite(trainer, grads, torch.device("cpu"))
    assert found.shape == () and found.dtype == torch.float32 and float(found) == expected
    assert float(grads[1][0]) == 0.5  # the values stay as they were
    if loss is not None:  # nor does the loss the step logs
        torch.testing.assert_close(guard._loss, torch.tensor(loss), rtol=0, atol=0, equal_nan=True)
