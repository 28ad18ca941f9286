"""The posterior API against the command-line route: the same model from the same settings,
and a saved posterior that flowdiff-sample and flowdiff-eval read."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from flowdiff.config import compose_config
from flowdiff.evaluation.eval_job import evaluate_checkpoints
from flowdiff.inference.sample_job import sample
from flowdiff.sbi import Posterior, PosteriorEstimator
from flowdiff.sbi.tasks.linear_gaussian import LinearGaussian
from flowdiff.training import fit

OPTIONS = dict(max_epochs=3, hidden=32, depth=1, batch_size=64, progress=False)


@pytest.fixture(scope="module")
def simulations():
    simulator = LinearGaussian.random(dim_theta=2, dim_x=3, seed=0)
    theta, x = simulator.simulate(500, np.random.default_rng(0))
    return theta.astype(np.float32), x.astype(np.float32)


@pytest.fixture(scope="module")
def fitted(simulations):
    estimator = PosteriorEstimator(overrides=["trainer=cpu"], **OPTIONS)
    return estimator, estimator.fit(*simulations)


def test_cli_route_gives_the_same_model(fitted, simulations, tmp_path):
    estimator, posterior = fitted
    pairs = tmp_path / "pairs.npz"
    np.savez(pairs, x=simulations[0], cond=simulations[1])
    cfg = compose_config("train", [*estimator.overrides, f"data.file={pairs}"], tmp_path / "run")
    model, _ = fit(cfg)
    api = posterior.model.state_dict()
    for key, value in model.state_dict().items():
        assert torch.equal(value, api[key]), key


def test_saved_posterior_is_one_file_that_loads_and_draws_the_same(fitted, simulations, tmp_path):
    _, posterior = fitted
    path = posterior.save(tmp_path / "posterior.ckpt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["posterior.ckpt"]
    loaded = Posterior.load(path)
    x_o = simulations[1][:3]
    first = posterior.sample((50,), x=x_o, generator=torch.Generator().manual_seed(0))
    again = loaded.sample((50,), x=x_o, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(first, again)
    assert loaded.config.data.shape == [2] and loaded.config.data.file is None
    with pytest.warns(FutureWarning, match=r"use Posterior\.load"):
        PosteriorEstimator.load(path)


def test_flowdiff_sample_and_eval_read_a_saved_posterior(fitted, simulations, tmp_path):
    _, posterior = fitted
    path = posterior.write_run(tmp_path / "run")  # eval rebuilds the training split from it
    observations = tmp_path / "obs.npy"
    np.save(observations, simulations[1][:4])
    overrides = [f"ckpt_path={path}", f"conditions={observations}", "device=cpu"]
    folder = sample(compose_config("sample", [*overrides, f"output_dir={tmp_path / 's'}"]))
    drawn = np.load(folder / "samples.npz")["x"]
    assert drawn.shape == (4, 2) and (folder / "corner.png").is_file()
    eval_overrides = [
        f"ckpt_path={path}",
        f"output_dir={tmp_path / 'e'}",
        "num_samples=100",
        "nll.enabled=false",
        "tensorboard=false",
        "calibration.num_pairs=40",
        "calibration.num_samples=20",
    ]
    root = evaluate_checkpoints(compose_config("eval", eval_overrides))
    record = json.loads((root / "metrics.json").read_text())
    assert {"sbc_min_p", "sbc_pass", "coverage_p", "coverage_pass", "c2st"} <= set(record)
    assert {"sbc.png", "coverage.png", "corner.png"} <= set(record["files"])
