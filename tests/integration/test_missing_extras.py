"""A base install without an optional extra: selecting what needs it prints one line naming
``pip install 'flowdiff[<extra>]'`` (flowdiff.cli.errors), and an unknown logger lists the
loggers there are.

The extras are installed here (the dev extra has them), so each test hides one in a subprocess:
a module set to ``None`` in ``sys.modules`` cannot be imported, and a ``hydra_plugins`` package
with no path finds no Hydra plugin, as on a base install. FID's are checked in-process through
``flowdiff-eval`` (its import of torch-fidelity is flowdiff's own, made on each use).
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from flowdiff.cli import eval as eval_cli
from flowdiff.training import train as train_run
from tests.helpers.cli import cli, error_line, train
from tests.helpers.config import SRC, TINY, compose_config

#: Case -> (overrides, hidden modules, extra).
MODULE_CASES = {
    "torchdyn extra missing": (["model/sampler=torchdyn"], ["torchdyn"], "torchdyn"),
    "wandb extra missing": (["logger=wandb"], ["wandb"], "wandb"),
    "mlflow extra missing": (["logger=mlflow"], ["mlflow"], "mlflow"),
}
#: Case -> (overrides, extra): Hydra plugins, absent in a subprocess.
PLUGIN_CASES = {
    "slurm extra missing": (["hydra/launcher=slurm"], "slurm"),
    "optuna extra missing": (["hparams_search=digits_optuna"], "optuna"),
}
#: What each case gives, for docs/reliability.md's table (tests/helpers/bad_input_table.py).
GIVEN = {name: " ".join(args) for name, (args, *_) in {**MODULE_CASES, **PLUGIN_CASES}.items()}
GIVEN["test_unknown_logger_lists_the_loggers"] = "logger=foo"
GIVEN["test_fid_without_its_extra"] = "flowdiff-eval ckpt_path=<digits run> metrics.fid=true"
GIVEN["test_fid_weights_cannot_be_downloaded"] = (
    "flowdiff-eval ckpt_path=<digits run> metrics.fid=true (no network, no weights)"
)


def _base_install(args: list[str], cwd: Path, hidden=(), plugins: bool = True):
    """``flowdiff-train args`` in a subprocess where the ``hidden`` modules cannot be imported
    (set to ``None`` in ``sys.modules``) and, without ``plugins``, no Hydra plugin is found.
    A subprocess, because Lightning caches whether wandb and mlflow are installed."""
    script = "\n".join(
        [
            "import sys, hydra_plugins",
            *(f"sys.modules[{module!r}] = None" for module in hidden),
            "" if plugins else "hydra_plugins.__path__ = []",
            "from flowdiff.cli.train import main",
            "sys.argv = ['flowdiff-train', *sys.argv[1:]]",
            "main()",
        ]
    )
    env = {k: v for k, v in os.environ.items() if k not in ("HYDRA_FULL_ERROR", "FLOWDIFF_DEBUG")}
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")])
    env["WANDB_MODE"] = "offline"
    command = [sys.executable, "-c", script, *TINY, f"hydra.run.dir={cwd / 'run'}", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.parametrize("case", MODULE_CASES)
def test_missing_extra_is_named(case, tmp_path):
    args, hidden, extra = MODULE_CASES[case]
    result = _base_install(args, tmp_path, hidden=hidden)
    line = error_line(result.stderr)
    assert result.returncode == 1
    assert f"pip install 'flowdiff[{extra}]'" in line and f"'{hidden[0]}'" in line


@pytest.mark.parametrize("case", PLUGIN_CASES)
def test_missing_hydra_plugin_names_the_extra(case, tmp_path):
    args, extra = PLUGIN_CASES[case]
    result = _base_install(args, tmp_path, plugins=False)
    line = error_line(result.stderr)
    assert result.returncode == 1
    assert f"pip install 'flowdiff[{extra}]'" in line and args[0].split("=")[0] in line


def test_unknown_logger_lists_the_loggers(capsys, monkeypatch, tmp_path):
    code, err = train(["logger=foo"], capsys, monkeypatch, tmp_path)
    line = error_line(err)
    assert code == 1
    assert "logger/foo" in line
    assert all(name in line for name in ("csv", "mlflow", "tensorboard", "wandb"))


@pytest.fixture(scope="module")
def digits_ckpt(tmp_path_factory) -> Path:
    """``last.ckpt`` of a tiny digits run (images, so FID applies), with its run config."""
    folder = tmp_path_factory.mktemp("digits") / "run"
    cfg = compose_config("train", [*TINY, "callbacks.sample_figures=null"], output_dir=folder)
    train_run(cfg)
    (folder / ".hydra").mkdir(exist_ok=True)
    OmegaConf.save({k: v for k, v in cfg.items() if k != "hydra"}, folder / ".hydra/config.yaml")
    return folder / "checkpoints" / "last.ckpt"


def _eval_with_fid(ckpt: Path, capsys, monkeypatch, tmp_path) -> str:
    args = [f"ckpt_path={ckpt}", "metrics.fid=true", "num_samples=20", "nll.enabled=false"]
    code, err = cli(
        eval_cli.main, [*args, f"output_dir={tmp_path / 'eval'}"], capsys, monkeypatch, tmp_path
    )
    assert code == 1
    return error_line(err)


def test_fid_without_its_extra(digits_ckpt, capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torch_fidelity", None)
    line = _eval_with_fid(digits_ckpt, capsys, monkeypatch, tmp_path)
    assert "'torch_fidelity' is not installed" in line and "pip install 'flowdiff[fid]'" in line


def test_fid_weights_cannot_be_downloaded(digits_ckpt, capsys, monkeypatch, tmp_path):
    from torch_fidelity import feature_extractor_inceptionv3  # the dev extra has flowdiff[fid]

    def offline(url, **kwargs):  # what a machine without a network gets, without trying
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(feature_extractor_inceptionv3, "load_state_dict_from_url", offline)
    line = _eval_with_fid(digits_ckpt, capsys, monkeypatch, tmp_path)
    assert "downloaded on first use" in line and "metrics.fid=false" in line
