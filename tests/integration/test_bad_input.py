"""Every bad input of docs/reliability.md: one line naming the key or file and the fix, exit 1.

Most run ``flowdiff-train``'s console entry point in-process (fast); a few run the real console
scripts in a subprocess to check there is no traceback and that ``FLOWDIFF_DEBUG=1`` shows it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from flowdiff.cli import eval as eval_cli
from flowdiff.cli import sample as sample_cli
from flowdiff.cli import train as train_cli
from tests.helpers.cli import cli, error_line, train
from tests.helpers.config import TINY

BIN = Path(sys.executable).parent
SRC = Path(__file__).resolve().parents[2] / "src"


CONFIG_CASES = {
    "unknown group option": (["model/network=foo"], ["model/network/foo", "options", "dit, "]),
    "unknown config group": (["modl/network=mlp"], ["unknown config key 'modl/network'"]),
    "typo in a key": (["model.netwrk.hidden=3"], ["'model.netwrk.hidden'", "+model.netwrk"]),
    "typo in a top-level key": (["batchsize=3"], ["unknown config key 'batchsize'"]),
    "negative lr": (["base_lr=-1"], ["base_lr=-1", "must be > 0"]),
    "lr not a number": (["base_lr=abc"], ["base_lr='abc'", "not a number"]),
    "batch_size 0": (["batch_size=0"], ["batch_size=0", "integer >= 1"]),
    "patch_size not dividing": (["+model.network.patch_size=3"], ["patch_size=3", "height 8"]),
    "val_fraction out of range": (["data.val_fraction=1.5"], ["data.val_fraction=1.5"]),
    "unknown scheduler": (["model.path.scheduler=foo"], ["model.path.scheduler='foo'", "condot"]),
    "unknown ODE solver": (["model.sampler.method=foo"], ["model.sampler.method='foo'", "rk4"]),
    "unknown torchdyn solver": (
        ["model/sampler=torchdyn", "model.sampler.solver=foo"],
        ["model.sampler.solver='foo'", "tsit5"],
    ),
    "epsilon model started on the noisiest step": (
        [
            "--config-name=train_hf_diffusion",
            "model.path.prediction_type=epsilon",
            "model.sampler.sampler_type=DPMSolverSinglestepScheduler",
        ],
        ["starts at timestep 999", "2e+04", "v_prediction"],
    ),
    "epsilon model with a multistep schedule that starts short": (
        [
            "--config-name=train_hf_diffusion",
            "model.path.prediction_type=epsilon",
            "sampling_steps=250",
        ],
        ["250 steps starts at timestep 750", "use ddim or ddpm"],
    ),
    "leading spacing chosen for a multistep solver at many steps": (
        [
            "--config-name=train_hf_diffusion",
            "sampling_steps=250",
            "model.sampler.scheduler_options={timestep_spacing: leading}",
        ],
        ["250 steps starts at timestep 750", "Leave timestep_spacing out"],
    ),
    "zero-SNR schedule the scheduler cannot read": (
        [
            "--config-name=train_hf_diffusion",
            "model.path.rescale_betas_zero_snr=true",
            "model.sampler.sampler_type=HeunDiscreteScheduler",
        ],
        ["rescale_betas_zero_snr=true", "DDIMScheduler"],
    ),
    "unknown diffusers sampler": (
        ["--config-name=train_hf_diffusion", "model.sampler.sampler_type=foo"],
        ["model.sampler.sampler_type='foo'", "ddim"],
    ),
    "unknown beta schedule": (
        ["--config-name=train_hf_diffusion", "model.path.beta_schedule=foo"],
        ["model.path.beta_schedule='foo'"],
    ),
    "sampler incompatible with path": (
        ["model/sampler=diffusers"],
        ["DiffusersSampler", "FlowMatchingPath", "model/sampler=ode"],
    ),
    "seed not an integer": (["seed=abc"], ["seed='abc'", "integer"]),
    "max_epochs 0": (["max_epochs=0"], ["max_epochs=0", "-1 for no limit"]),
    "max_time not DD:HH:MM:SS": (["max_time=120"], ["max_time=120", "00:00:02:00"]),
    "wrong type in a network key": (
        ["model.network.hidden=abc"],
        ["model.network.hidden='abc' must be a whole number", "e.g. model.network.hidden="],
    ),
    "wrong type in an LR schedule key": (
        ["model/lr_scheduler=cosine", "model.lr_scheduler.warmup_steps=abc"],
        ["model.lr_scheduler.warmup_steps='abc' must be a whole number"],
    ),
    "number for a solver name": (
        ["model.sampler.method=3"],
        ["model.sampler.method=3 must be a string"],
    ),
    "misspelt _target_": (
        ["model.network._target_=flowdiff.networks.MLPX"],
        ["Error locating target 'flowdiff.networks.MLPX'", "model.network"],
    ),
    "unknown nan_guard action": (["callbacks.nan_guard.action=foo"], ["nan_guard.action='foo'"]),
    "nan_guard on_device not a bool": (
        ["callbacks.nan_guard.on_device=maybe"],
        ["nan_guard.on_device='maybe'", "true, false or null"],
    ),
    "nan_guard check_every 0": (["callbacks.nan_guard.check_every=0"], ["check_every=0", ">= 1"]),
    "unknown coupling": (["coupling=foo"], ["coupling='foo'", "'independent', 'ot'"]),
    "unknown time sampling": (
        ["time_sampling=foo"],
        ["time_sampling='foo'", "uniform, logit_normal"],
    ),
    "t_power with logit-normal times": (
        ["model.path.t_power=1"],
        ["t_power=1 shapes uniform times only", "time_sampling=uniform"],
    ),
    "sampler grid power 0": (["grid_power=0"], ["grid_power=0", "a number > 0"]),
    "unknown nonfinite policy": (["data.nonfinite=foo"], ["data.nonfinite='foo'", "replace"]),
}


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_bad_config_prints_one_line(case, capsys, monkeypatch, tmp_path):
    args, words = CONFIG_CASES[case]
    code, err = train(args, capsys, monkeypatch, tmp_path)
    line = error_line(err)
    assert code == 1
    for word in words:
        assert word in line, line


def write_digits(folder: Path, **arrays) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "digits.npz", **arrays)
    return folder


def good_digits(n: int = 40) -> dict[str, np.ndarray]:
    images = np.random.default_rng(0).integers(0, 17, (n, 8, 8)).astype(np.float32)
    return {"images": images, "target": np.arange(n) % 10}


def _truncated(d: Path) -> Path:
    write_digits(d, **good_digits())
    data = (d / "digits.npz").read_bytes()
    (d / "digits.npz").write_bytes(data[: len(data) // 2])
    return d


def _with_nan(d: Path) -> Path:
    arrays = good_digits()
    arrays["images"][:3, 0, 0] = np.nan
    arrays["images"][5, 1, 1] = np.inf
    return write_digits(d, **arrays)


DATA_CASES = {
    "missing data folder": (lambda d: d / "nope", ["does not exist", "data.data_dir"]),
    "data folder is a file": (lambda d: _truncated(d) / "digits.npz", ["is a file"]),
    "empty folder": (lambda d: d.mkdir() or d, ["is empty", "digits.npz"]),
    "truncated file": (_truncated, ["not a readable .npz", "truncated"]),
    "missing key": (
        lambda d: write_digits(d, images=good_digits()["images"]),
        ["lacks key(s) ['target']"],
    ),
    "lengths disagree": (
        lambda d: write_digits(d, images=good_digits()["images"], target=np.arange(7)),
        ["disagree in length", "'images': 40", "'target': 7"],
    ),
    "non-numeric data": (
        lambda d: write_digits(d, images=np.full((4, 8, 8), "x"), target=np.arange(4)),
        ["'images'", "non-numeric"],
    ),
    "pickled objects": (
        lambda d: write_digits(d, images=np.array([{}, {}], dtype=object), target=np.arange(2)),
        ["pickled Python objects"],
    ),
    "wrong sample shape": (
        lambda d: write_digits(d, images=np.zeros((4, 6, 6)), target=np.arange(4)),
        ["shape [1, 6, 6]", "data.shape"],
    ),
    "NaN/inf refused": (_with_nan, ["3 NaN and 1 inf", "4 of 40 samples", "data.nonfinite"]),
}


@pytest.mark.parametrize("case", sorted(DATA_CASES))
def test_bad_data_prints_one_line(case, capsys, monkeypatch, tmp_path):
    make, words = DATA_CASES[case]
    folder = make(tmp_path / "data")
    code, err = train([f"data.data_dir={folder}"], capsys, monkeypatch, tmp_path)
    line = error_line(err)
    assert code == 1
    for word in words:
        assert word in line, line


@pytest.mark.parametrize("policy", ["replace", "drop"])
def test_nonfinite_data_replaced_or_dropped_with_counts(policy, tmp_path):
    from flowdiff.data import DigitsDataModule

    datamodule = DigitsDataModule(data_dir=str(_with_nan(tmp_path)), nonfinite=policy)
    with pytest.warns(UserWarning, match="3 NaN and 1 inf values in 4 of 40 samples"):
        datamodule.setup("fit")
    x = torch.cat([datamodule.train_set.x, datamodule.val_set.x])
    assert torch.isfinite(x).all()
    assert len(x) == (40 if policy == "replace" else 36)


def test_output_folder_not_writable(capsys, monkeypatch, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    args = [*TINY, f"hydra.run.dir={blocker / 'run'}"]
    code, err = cli(train_cli.main, args, capsys, monkeypatch, tmp_path)
    line = error_line(err)
    assert code == 1 and "a_file' is a file" in line and "hydra.run.dir" in line


def test_output_folder_without_write_permission(monkeypatch, tmp_path):
    from flowdiff.config.checks import check_output_folder
    from flowdiff.errors import OutputError

    monkeypatch.setattr(os, "access", lambda *args: False)  # tests may run as root
    with pytest.raises(OutputError, match=r"is not writable.*hydra.run.dir"):
        check_output_folder(tmp_path / "run", resuming=False)


def test_sampling_labels_out_of_range(trained_ckpt, capsys, monkeypatch, tmp_path):
    args = [f"ckpt_path={trained_ckpt}", "num_samples=2", "labels=[12]", f"output_dir={tmp_path}"]
    code, err = cli(sample_cli.main, args, capsys, monkeypatch, tmp_path)
    assert code == 1 and "labels must lie in [0, 10)" in error_line(err)


def test_sampling_conditions_file_of_the_wrong_shape(trained_ckpt, capsys, monkeypatch, tmp_path):
    np.save(tmp_path / "bad.npy", np.zeros((4, 5), dtype=np.float32))
    args = [f"ckpt_path={trained_ckpt}", f"conditions={tmp_path / 'bad.npy'}"]
    code, err = cli(
        sample_cli.main, [*args, f"output_dir={tmp_path}/out"], capsys, monkeypatch, tmp_path
    )
    line = error_line(err)
    assert code == 1 and "bad.npy' holds 4 conditions of shape (5,)" in line
    assert "integer class labels of shape (N,) in [0, 10)" in line
    assert not (tmp_path / "out").exists()  # nothing written


def _subprocess(args: list[str], cwd: Path, **env) -> subprocess.CompletedProcess:
    path = os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])
    clean = {k: v for k, v in os.environ.items() if k not in ("HYDRA_FULL_ERROR", "FLOWDIFF_DEBUG")}
    full_env = {**clean, "PYTHONPATH": path, **env}
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=full_env)


def test_console_script_prints_no_traceback(tmp_path):
    result = _subprocess([str(BIN / "flowdiff-train"), "batch_size=0", "trainer=cpu"], tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "Error executing job" not in result.stderr
    assert "flowdiff-train: error: batch_size=0" in result.stderr


def test_console_script_hydra_error_is_one_line_and_debug_shows_traceback(tmp_path):
    command = [str(BIN / "flowdiff-train"), "data=nope"]
    result = _subprocess(command, tmp_path)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert "Could not find 'data/nope'" in lines[0]
    assert all(option in lines[0] for option in ("digits", "toy2d", "arrays"))
    debug = _subprocess(command, tmp_path, FLOWDIFF_DEBUG="1")
    assert debug.returncode == 1 and "Traceback" in debug.stderr
    assert "MissingConfigException" in debug.stderr


@pytest.fixture(scope="module")
def trained_ckpt(tmp_path_factory) -> Path:
    """``last.ckpt`` of a tiny digits run (flow matching, MLP)."""
    from flowdiff.training import build
    from tests.helpers.config import compose_config

    out = tmp_path_factory.mktemp("trained")
    cfg = compose_config("train", [*TINY, "callbacks.sample_figures=null"], output_dir=out)
    datamodule, model, trainer = build(cfg)
    trainer.fit(model, datamodule=datamodule)
    return out / "checkpoints" / "last.ckpt"


def _untrusted(trained: Path, folder: Path) -> Path:
    import argparse

    checkpoint = torch.load(trained, weights_only=False)
    checkpoint["extra"] = argparse.Namespace(note="any pickled object")
    torch.save(checkpoint, folder / "pickled.ckpt")
    return folder / "pickled.ckpt"


def _cut(trained: Path, folder: Path) -> Path:
    data = trained.read_bytes()
    (folder / "cut.ckpt").write_bytes(data[: len(data) // 2])
    return folder / "cut.ckpt"


CKPT_CASES = {
    "missing": (lambda t, d: d / "none.ckpt", [], ["does not exist", "last.ckpt"]),
    "a folder": (lambda t, d: d, [], ["is a folder"]),
    "not a checkpoint": (
        lambda t, d: (d / "notes.ckpt").write_text("hello") and d / "notes.ckpt",
        [],
        ["not a readable PyTorch checkpoint"],
    ),
    "truncated": (_cut, [], ["not a readable PyTorch checkpoint", "truncated"]),
    "needs full unpickling": (
        _untrusted,
        [],
        ["argparse.Namespace", "full unpickling", "trust_checkpoint=true"],
    ),
    "different network": (
        lambda t, d: t,
        ["model.network.hidden=64"],
        ["different network", "network.", "checkpoint (32", "vs config (64"],
    ),
    "different path (config)": (
        lambda t, d: t,
        ["--config-name=train_hf_diffusion"],
        ["FlowMatchingPath", "DiffusionPath", ".hydra/config.yaml"],
    ),
}


@pytest.mark.parametrize("case", sorted(CKPT_CASES))
def test_bad_ckpt_path_prints_one_line(case, trained_ckpt, capsys, monkeypatch, tmp_path):
    make, extra, words = CKPT_CASES[case]
    ckpt = make(trained_ckpt, tmp_path)
    code, err = train([*extra, f"ckpt_path={ckpt}"], capsys, monkeypatch, tmp_path)
    line = error_line(err)
    assert code == 1
    for word in words:
        assert word in line, line


def test_sample_without_ckpt_path(capsys, monkeypatch, tmp_path):
    code, err = cli(sample_cli.main, ["num_samples=2"], capsys, monkeypatch, tmp_path)
    assert code == 1 and "ckpt_path is required" in error_line(err)


def test_sample_refuses_untrusted_checkpoint_unless_allowed(
    trained_ckpt, capsys, monkeypatch, tmp_path
):
    ckpt = _untrusted(trained_ckpt, tmp_path)
    args = [f"ckpt_path={ckpt}", "num_samples=2", "sampling_steps=2", f"output_dir={tmp_path}"]
    code, err = cli(sample_cli.main, args, capsys, monkeypatch, tmp_path)
    assert code == 1 and "FLOWDIFF_TRUST_CHECKPOINT=1" in error_line(err)
    monkeypatch.setenv("FLOWDIFF_TRUST_CHECKPOINT", "1")
    monkeypatch.setattr(sys, "argv", ["flowdiff-sample", *args])
    sample_cli.main()
    assert (tmp_path / "samples.npz").is_file()


def test_trusted_checkpoint_loads_with_the_flag(trained_ckpt, tmp_path):
    from flowdiff.checkpoints.reading import read_checkpoint

    checkpoint = read_checkpoint(_untrusted(trained_ckpt, tmp_path), trust=True)
    assert checkpoint["extra"].note == "any pickled object"


def test_fresh_run_never_overwrites_an_earlier_runs_checkpoints(
    trained_ckpt, capsys, monkeypatch, tmp_path
):
    run_dir = trained_ckpt.parent.parent
    before = trained_ckpt.read_bytes()
    code, err = cli(
        train_cli.main, [*TINY, f"hydra.run.dir={run_dir}"], capsys, monkeypatch, tmp_path
    )
    line = error_line(err)
    assert code == 1 and "already holds checkpoints" in line and "ckpt_path=" in line
    assert trained_ckpt.read_bytes() == before


def test_arrays_pt_file_holding_a_pickled_object(capsys, monkeypatch, tmp_path):
    import argparse

    file = tmp_path / "x.pt"
    torch.save({"x": argparse.Namespace(note="not a tensor")}, file)
    args = ["data=arrays", f"data.file={file}", "data.shape=[2]"]
    code, err = train(args, capsys, monkeypatch, tmp_path)
    line = error_line(err)
    assert code == 1 and "UnpicklingError" not in err
    assert "x.pt' holds a pickled argparse.Namespace" in line and "torch.save(" in line


#: flowdiff-sample's and flowdiff-eval's own settings, refused before the checkpoint is loaded
JOB_CASES = {
    "sample: num_samples not a number": (
        sample_cli,
        ["num_samples=abc"],
        "num_samples='abc' must be an integer >= 1",
    ),
    "sample: seed not a number": (sample_cli, ["seed=abc"], "seed='abc' must be an integer >= 0"),
    "sample: switch not true or false": (sample_cli, ["h5=maybe"], "h5='maybe' must be true"),
    "eval: batch_size not a number": (eval_cli, ["batch_size=x"], "batch_size='x' must be an"),
    "eval: metrics option of the wrong type": (
        eval_cli,
        ["metrics.full_c2st=maybe"],
        "metrics.full_c2st='maybe' must be true or false",
    ),
    "eval: likelihood solver steps not a number": (
        eval_cli,
        ["nll.options.steps=abc"],
        "nll.options.steps='abc' must be a whole number",
    ),
    "eval: sweep neither a switch nor a list": (eval_cli, ["sweep=maybe"], "sweep='maybe' must"),
}


@pytest.mark.parametrize("case", sorted(JOB_CASES))
def test_bad_job_option_prints_one_line(case, trained_ckpt, capsys, monkeypatch, tmp_path):
    main, overrides, expected = JOB_CASES[case]
    args = [f"ckpt_path={trained_ckpt}", f"output_dir={tmp_path}/out", *overrides]
    code, err = cli(main.main, args, capsys, monkeypatch, tmp_path)
    assert code == 1 and expected in error_line(err)
    assert not (tmp_path / "out").exists()


def test_sampling_steps_zero_names_the_key_typed(trained_ckpt, capsys, monkeypatch, tmp_path):
    args = [f"ckpt_path={trained_ckpt}", "num_samples=2", "sampling_steps=0"]
    code, err = cli(
        sample_cli.main, [*args, f"output_dir={tmp_path}/out"], capsys, monkeypatch, tmp_path
    )
    line = error_line(err)
    assert code == 1 and "sampling_steps=0 must be an integer >= 1" in line
    assert "{}" not in line and "model.sampler.steps" not in line
    assert not (tmp_path / "out").exists()


def test_failed_start_leaves_no_run_folder(capsys, monkeypatch, tmp_path):
    code, err = train(["data.data_dir=nope"], capsys, monkeypatch, tmp_path)
    assert code == 1 and "does not exist" in error_line(err)
    assert not (tmp_path / "run").exists()  # no .hydra/, train.log, events.jsonl or tensorboard/
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("mine")
    code, _ = train(["batch_size=0"], capsys, monkeypatch, tmp_path)
    assert code == 1 and (tmp_path / "run" / "notes.txt").read_text() == "mine"


#: data.bounds (a box holding the samples, learned through a logit): its form and the data
BOUNDS_CASES = {
    "data.bounds not two lists": ("[1]", ["bounds=[1]", "bounds=[low, high]"]),
    "data.bounds with low above high": ("[1,0]", ["bounds=[1, 0]", "low < high"]),
    "samples outside data.bounds": ("[0,0.5]", ["lie outside bounds", "widen data.bounds"]),
}


@pytest.mark.parametrize("case", sorted(BOUNDS_CASES))
def test_bad_bounds_print_one_line(case, capsys, monkeypatch, tmp_path):
    bounds, words = BOUNDS_CASES[case]
    file = tmp_path / "x.npz"
    np.savez(file, x=np.random.default_rng(0).uniform(0, 1, (40, 2)).astype("float32"))
    args = ["data=arrays", f"data.file={file}", "data.shape=[2]", "data.cond_key=null"]
    code, err = train([*args, f"data.bounds={bounds}"], capsys, monkeypatch, tmp_path)
    line = error_line(err)
    assert code == 1
    for word in words:
        assert word in line, line
