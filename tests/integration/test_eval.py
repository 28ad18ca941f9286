"""flowdiff-eval in-process on tiny runs: metrics by data kind, NLL, sweeps, side-by-side
comparison, TensorBoard figures, the Python API, and clear messages for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

import flowdiff
from flowdiff.config import compose_config
from flowdiff.evaluation.eval_job import evaluate_checkpoints
from flowdiff.training import train
from tests.helpers.config import TINY
from tests.helpers.runs import vector_run

#: Small and fast: 200 samples, a cheap likelihood.
FAST = ["num_samples=200", "nll.num_samples=50", "nll.options.method=euler", "nll.options.steps=4"]


def train_run(folder: Path, *overrides: str) -> Path:
    cfg = compose_config("train", [*TINY, *overrides], output_dir=folder)
    train(cfg)
    (folder / ".hydra").mkdir(exist_ok=True)
    OmegaConf.save({k: v for k, v in cfg.items() if k != "hydra"}, folder / ".hydra/config.yaml")
    return folder / "checkpoints" / "last.ckpt"


TOY = ["experiment=toy2d", "data.num_samples=2000", "model.network.hidden=32"]


@pytest.fixture(scope="module")
def toy_fm(tmp_path_factory) -> Path:
    return train_run(tmp_path_factory.mktemp("fm") / "toy_fm", *TOY)


@pytest.fixture(scope="module")
def toy_ddpm(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ddpm") / "toy_ddpm"
    return train_run(folder, *TOY, "model=diffusion", "model.path.timestep_spacing=leading")


def run_eval(out: Path, *overrides: str) -> Path:
    return evaluate_checkpoints(compose_config("eval", [f"output_dir={out}", *FAST, *overrides]))


def test_toy2d_metrics_nll_sweep_and_figures(toy_fm, tmp_path):
    sweep = "sweep=[{method:euler,steps:2},{method:rk4,steps:2}]"
    folder = run_eval(tmp_path, f"ckpt_path={toy_fm}", sweep)
    record = json.loads((folder / "metrics.json").read_text())
    assert {"energy", "mmd", "w2", "sliced_w2", "nll", "bits_per_dim"} <= set(record)
    assert record["floor"]["w2"] < record["w2"] and record["weights"] == "ema"  # EMA by default
    assert [(r["kind"], r["nfe"]) for r in record["sweep"]] == [("euler", 2), ("rk4", 8)]
    for name in ("samples", "histograms", "density", "trajectories", "curves", "sweep"):
        assert (folder / f"{name}.png").stat().st_size > 1000, name
    assert "| real vs real |" in (folder / "metrics.md").read_text()
    assert (folder / "sweep.csv").read_text().count("\n") == 4  # header, 2 settings, floor
    events = list((toy_fm.parent.parent / "tensorboard").glob("events.out.tfevents.*"))
    assert len(events) >= 2  # training's, and the evaluation's eval/* figures and scalars


def test_flow_matching_and_diffusion_side_by_side(toy_fm, toy_ddpm, tmp_path):
    folder = run_eval(
        tmp_path, f"ckpt_paths=[{toy_fm},{toy_ddpm}]", "names=[fm,ddpm]", "tensorboard=false"
    )
    table = (folder / "comparison.md").read_text()
    assert "| fm | flow_matching | MLP |" in table and "| ddpm | diffusion | MLP |" in table
    rows = (folder / "comparison.csv").read_text().splitlines()
    header = rows[0].split(",")
    assert len(rows) == 5 and "nll" in header  # each run and its real-vs-real floor
    assert rows[3].split(",")[header.index("nll")] == ""  # no ODE likelihood for diffusion
    assert (folder / "fm" / "metrics.json").is_file()
    assert not (folder / "ddpm" / "sweep.png").exists()  # no sweep asked for


def test_digits_get_image_metrics_and_bits_per_dim(tmp_path):
    ckpt = train_run(tmp_path / "digits", "model.network.hidden=32")
    folder = run_eval(tmp_path / "eval", f"ckpt_path={ckpt}", "tensorboard=false")
    record = json.loads((folder / "metrics.json").read_text())
    assert {"frechet", "cond_accuracy", "c2st", "c2st_cond_mean", "bits_per_dim"} <= set(record)
    assert 0.8 < record["floor"]["cond_accuracy"] <= 1.0  # the classifier on real held-out digits
    assert record["floor"]["frechet"] < record["frechet"]  # an untrained model is far off
    assert record["floor"]["c2st"] < 0.65 < record["c2st"]  # pixels: real vs real is near 0.5
    assert "c2st_cond_max" in (folder / "metrics.md").read_text()


def test_conditional_vectors_get_a_c2st(tmp_path):
    ckpt = vector_run(tmp_path / "run")
    folder = run_eval(tmp_path / "eval", f"ckpt_path={ckpt}", "tensorboard=false")
    record = json.loads((folder / "metrics.json").read_text())
    assert 0.4 < record["c2st"] <= 1.0 and "energy" in record


def test_python_api(toy_fm):
    result = flowdiff.evaluate(toy_fm, num_samples=100, nll_samples=0)
    assert result.samples.shape == (100, 2) and result.nfe == 4  # midpoint x 2 steps
    assert {"energy", "w2"} <= set(result.metrics) and "w2" in result.floor
    assert "nll" not in result.metrics


# ---------------------------------------------------------------------------- bad input
def test_no_checkpoint_given(tmp_path):
    with pytest.raises(ValueError, match="Give ckpt_path="):
        run_eval(tmp_path)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"missing\.ckpt.*does not exist"):
        run_eval(tmp_path, f"ckpt_paths=[{tmp_path}/missing.ckpt]")


def test_unknown_sampler_method_in_a_sweep(toy_fm, tmp_path):
    with pytest.raises(ValueError, match=r"method='rk7'.*choose one of"):
        run_eval(tmp_path, f"ckpt_path={toy_fm}", "sweep=[{method:rk7}]", "nll.enabled=false")


def test_checkpoint_without_its_run_config(toy_fm, tmp_path):
    lonely = tmp_path / "lonely.ckpt"
    lonely.write_bytes(toy_fm.read_bytes())
    with pytest.raises(FileNotFoundError, match=r"No training config at .*\.hydra/config\.yaml"):
        run_eval(tmp_path / "out", f"ckpt_path={lonely}")


@pytest.mark.slow  # two fresh interpreters: 20-50 s on a shared 2-core machine
def test_command_line_from_another_folder(toy_fm, tmp_path):
    """`python -m flowdiff.cli.eval` (what the flowdiff-eval script runs), started elsewhere;
    a bad checkpoint exits non-zero with its message."""
    command = [sys.executable, "-m", "flowdiff.cli.eval", "num_samples=100", "tensorboard=false"]
    good = subprocess.run(
        [*command, f"ckpt_path={toy_fm}", "nll.enabled=false", f"output_dir={tmp_path}/out"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert good.returncode == 0, good.stderr[-2000:]
    assert "metrics.md" in good.stdout and "real vs real" in good.stdout
    assert "|---|" not in good.stdout  # a Rich table, not raw Markdown
    bad = subprocess.run(
        [*command, f"ckpt_path={tmp_path}/nope.ckpt"], cwd=tmp_path, capture_output=True, text=True
    )
    assert bad.returncode != 0 and "nope.ckpt' does not exist" in bad.stderr


def test_guidance_scale_reaches_generate(tmp_path):
    ckpt = train_run(tmp_path / "digits", "model.cond_drop_prob=0.2")
    records = {}
    for scale in (1.0, 4.0):
        out = tmp_path / f"eval{scale}"
        folder = run_eval(out, f"ckpt_path={ckpt}", f"guidance_scale={scale}", "nll.enabled=false")
        records[scale] = json.loads((folder / "metrics.json").read_text())
    assert records[4.0]["guidance_scale"] == 4.0
    assert 0.0 <= records[4.0]["cond_accuracy"] <= 1.0
    # Same seed and sampler: only guidance can move the generated samples, hence the scores.
    assert records[4.0]["frechet"] != records[1.0]["frechet"]
