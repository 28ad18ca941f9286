"""A base install without an optional extra: selecting what needs it prints one line naming
``pip install 'flowdiff[<extra>]'`` (flowdiff.cli.errors), and an unknown logger lists the
loggers there are.

The extras are installed here (the dev extra has them), so each test hides one: a module set
to ``None`` in ``sys.modules`` cannot be imported, and a subprocess whose ``hydra_plugins``
package has no path finds no Hydra plugin, as on a base install.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import error_line, train
from tests.helpers.config import SRC, TINY

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
#: What each case gives, for docs/reliability.md's table (benchmarks/bad_input_table.py).
GIVEN = {name: " ".join(args) for name, (args, *_) in {**MODULE_CASES, **PLUGIN_CASES}.items()}
GIVEN["unknown logger"] = "logger=foo"


@pytest.mark.parametrize("case", MODULE_CASES)
def test_missing_extra_is_named(case, capsys, monkeypatch, tmp_path):
    args, hidden, extra = MODULE_CASES[case]
    monkeypatch.setenv("WANDB_MODE", "offline")
    for name in [m for m in sys.modules if m.startswith("flowdiff.samplers.torchdyn_")]:
        monkeypatch.delitem(sys.modules, name)  # imported on first use, so hidden by a reset
    for module in hidden:
        monkeypatch.setitem(sys.modules, module, None)
    code, err = train(args, capsys, monkeypatch, tmp_path)
    line = error_line(err)
    assert code == 1
    assert f"pip install 'flowdiff[{extra}]'" in line and f"'{hidden[0]}'" in line


def _without_plugins(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """``flowdiff-train args`` in a subprocess that finds no Hydra plugin."""
    script = (
        "import sys, hydra_plugins; hydra_plugins.__path__ = []; "
        "from flowdiff.cli.train import main; sys.argv = ['flowdiff-train', *sys.argv[1:]]; main()"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("HYDRA_FULL_ERROR", "FLOWDIFF_DEBUG")}
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")])
    command = [sys.executable, "-c", script, *TINY, f"hydra.run.dir={cwd / 'run'}", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.parametrize("case", PLUGIN_CASES)
def test_missing_hydra_plugin_names_the_extra(case, tmp_path):
    args, extra = PLUGIN_CASES[case]
    result = _without_plugins(args, tmp_path)
    line = error_line(result.stderr)
    assert result.returncode == 1
    assert f"pip install 'flowdiff[{extra}]'" in line and args[0].split("=")[0] in line


def test_unknown_logger_lists_the_loggers(capsys, monkeypatch, tmp_path):
    code, err = train(["logger=foo"], capsys, monkeypatch, tmp_path)
    line = error_line(err)
    assert code == 1
    assert "logger/foo" in line
    assert all(name in line for name in ("csv", "mlflow", "tensorboard", "wandb"))
