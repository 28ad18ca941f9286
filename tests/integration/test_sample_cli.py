"""flowdiff-sample in-process: output files and shapes for each conditioning kind, EMA, and one
clear message for each kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from flowdiff.errors import CheckpointError
from flowdiff.inference import sample
from flowdiff.training import train
from tests.helpers.config import TINY, compose_config
from tests.helpers.runs import context_run, vector_run


def train_digits(folder: Path, *overrides: str) -> Path:
    """A tiny digits run through the real config; returns its last checkpoint."""
    cfg = compose_config("train", [*TINY, *overrides], output_dir=folder)
    train(cfg)
    (folder / ".hydra").mkdir(exist_ok=True)
    OmegaConf.save({k: v for k, v in cfg.items() if k != "hydra"}, folder / ".hydra/config.yaml")
    return folder / "checkpoints" / "last.ckpt"


@pytest.fixture(scope="module")
def digits_ckpt(tmp_path_factory) -> Path:
    return train_digits(tmp_path_factory.mktemp("digits"), "model.network.hidden=32")


@pytest.fixture(scope="module")
def vector_ckpt(tmp_path_factory) -> Path:
    return vector_run(tmp_path_factory.mktemp("vectors"))


def run_sample(ckpt: Path, out: Path, *overrides: str) -> tuple[dict, dict]:
    cfg = compose_config("sample", [f"ckpt_path={ckpt}", f"output_dir={out}", *overrides])
    folder = sample(cfg)
    with np.load(folder / "samples.npz") as arrays:
        loaded = {key: arrays[key] for key in arrays.files}
    return loaded, json.loads((folder / "samples.json").read_text())


def test_class_labels_with_h5_and_per_sample_pngs(digits_ckpt, tmp_path):
    arrays, info = run_sample(
        digits_ckpt, tmp_path, "labels=[3,7]", "num_samples=5", "h5=true", "per_sample_png=true"
    )
    assert arrays["x"].shape == (5, 1, 8, 8) and arrays["cond"].tolist() == [3, 7, 3, 7, 3]
    assert info["conditions"] == "labels" and info["nfe_total"] == 4  # midpoint x 2 steps
    assert info["weights"] == "ema"  # flowdiff-train keeps an EMA by default
    assert len(list((tmp_path / "images").glob("*.png"))) == 5
    import h5py

    with h5py.File(tmp_path / "samples.h5") as file:
        assert file["x"].shape == (5, 1, 8, 8)
    assert set(info["files"]) >= {"samples.npz", "samples.h5", "samples.png", "images/"}


def test_validation_conditions_come_with_their_real_samples(digits_ckpt, tmp_path):
    arrays, info = run_sample(digits_ckpt, tmp_path, "conditions=val", "num_samples=30")
    assert arrays["x"].shape == arrays["real"].shape == (30, 1, 8, 8)
    assert arrays["cond"].shape == (30,) and info["conditions"] == "val"
    assert arrays["real"].min() >= 0 and arrays["real"].max() <= 16  # pixel units


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_vector_conditions_from_a_file(vector_ckpt, tmp_path, suffix):
    cond = np.random.default_rng(0).normal(size=(7, 3)).astype(np.float32)
    file = tmp_path / f"obs{suffix}"
    np.save(file, cond) if suffix == ".npy" else np.savez(file, cond=cond)
    arrays, info = run_sample(vector_ckpt, tmp_path / "out", f"conditions={file}")
    assert arrays["x"].shape == (7, 2) and np.allclose(arrays["cond"], cond)
    assert info["conditions"] == str(file) and info["num_samples"] == 7


def test_num_samples_cycles_the_rows_of_a_short_conditions_file(vector_ckpt, tmp_path):
    one = np.array([[0.5, -1.0, 2.0]], dtype=np.float32)  # one observation, 5 draws for it
    np.save(tmp_path / "obs.npy", one)
    arrays, info = run_sample(
        vector_ckpt, tmp_path / "out", f"conditions={tmp_path / 'obs.npy'}", "num_samples=5"
    )
    assert arrays["x"].shape == (5, 2) and np.allclose(arrays["cond"], one.repeat(5, 0))
    assert info["num_samples"] == 5 and len(np.unique(arrays["x"][:, 0])) == 5


def test_vector_validation_conditions_and_trajectories(vector_ckpt, tmp_path):
    arrays, _ = run_sample(vector_ckpt, tmp_path, "conditions=val", "save_trajectory=true")
    assert arrays["cond"].shape == (80, 3) and arrays["x"].shape == (80, 2)
    assert arrays["trajectory"].shape == (5, 80, 2)  # 4 midpoint steps + the noise
    assert (tmp_path / "trajectories.png").stat().st_size > 1000


def test_image_context_conditions(tmp_path):
    ckpt = context_run(tmp_path / "run")
    context = np.random.default_rng(0).random((6, 2, 4, 4)).astype(np.float32)
    np.savez(tmp_path / "context.npz", scenes=context)
    arrays, _ = run_sample(
        ckpt, tmp_path / "out", f"conditions={tmp_path}/context.npz", "conditions_key=scenes"
    )
    assert arrays["x"].shape == (6, 1, 4, 4) and arrays["cond"].shape == (6, 2, 4, 4)


def test_ema_weights_are_used_when_the_checkpoint_has_them(digits_ckpt, tmp_path):
    checkpoint = torch.load(digits_ckpt, weights_only=False)
    raw = checkpoint["state_dict"]
    checkpoint["current_model_state"] = raw  # what Lightning's EMAWeightAveraging writes
    checkpoint["state_dict"] = {key: torch.zeros_like(value) for key, value in raw.items()}
    torch.save(checkpoint, tmp_path / "ema.ckpt")
    ema, ema_info = run_sample(tmp_path / "ema.ckpt", tmp_path / "a", "num_samples=4")
    raw_x, raw_info = run_sample(
        tmp_path / "ema.ckpt", tmp_path / "b", "num_samples=4", "ema=false"
    )
    assert ema_info["weights"] == "ema" and raw_info["weights"] == "raw"
    assert not np.allclose(ema["x"], raw_x["x"])


# ---------------------------------------------------------------------------- bad input
def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match=r"ckpt_path=.*nothing\.ckpt.*does not exist"):
        run_sample(tmp_path / "nothing.ckpt", tmp_path)


def test_checkpoint_of_another_network(digits_ckpt, tmp_path):
    checkpoint = torch.load(digits_ckpt, weights_only=False)
    checkpoint["flowdiff"]["network"]["hidden"] = 64  # record and weights disagree
    torch.save(checkpoint, tmp_path / "other.ckpt")
    with pytest.raises(ValueError, match=r"other\.ckpt.*weights do not fit the network.*CNN"):
        run_sample(tmp_path / "other.ckpt", tmp_path)


def test_checkpoint_not_from_flowdiff(tmp_path):
    torch.save({"state_dict": {}}, tmp_path / "plain.ckpt")
    with pytest.raises(ValueError, match="not written by flowdiff"):
        run_sample(tmp_path / "plain.ckpt", tmp_path)


def test_conditions_of_the_wrong_shape(vector_ckpt, tmp_path):
    np.save(tmp_path / "bad.npy", np.zeros((4, 5), dtype=np.float32))
    with pytest.raises(
        ValueError, match=r"bad\.npy.*shape \(5,\).*needs vectors of shape \(N, 3\)"
    ):
        run_sample(vector_ckpt, tmp_path, f"conditions={tmp_path}/bad.npy")


def test_conditions_file_without_the_key(vector_ckpt, tmp_path):
    np.savez(tmp_path / "obs.npz", observations=np.zeros((4, 3)))
    with pytest.raises(KeyError, match=r"no key 'cond'.*observations.*conditions_key"):
        run_sample(vector_ckpt, tmp_path, f"conditions={tmp_path}/obs.npz")


def test_float_conditions_for_a_class_conditional_model(digits_ckpt, tmp_path):
    np.save(tmp_path / "labels.npy", np.zeros((4, 2), dtype=np.float32))
    with pytest.raises(
        ValueError, match=r"needs integer class labels of shape \(N,\) in \[0, 10\)"
    ):
        run_sample(digits_ckpt, tmp_path, f"conditions={tmp_path}/labels.npy")


def test_unknown_sampler_method(digits_ckpt, tmp_path):
    with pytest.raises(ValueError, match=r"method='rk5'.*choose one of"):
        run_sample(digits_ckpt, tmp_path, "model.sampler.method=rk5")


def test_guidance_scale_only_where_generate_takes_it(digits_ckpt, tmp_path):
    import inspect

    from flowdiff.model.module import GenerativeModule

    if "guidance_scale" in inspect.signature(GenerativeModule.generate).parameters:
        _, info = run_sample(digits_ckpt, tmp_path, "guidance_scale=2.0", "num_samples=2")
        assert info["guidance_scale"] == 2.0
    else:
        with pytest.raises(ValueError, match=r"guidance_scale=2\.0.*no classifier-free guidance"):
            run_sample(digits_ckpt, tmp_path, "guidance_scale=2.0")


def test_labels_out_of_range(digits_ckpt, tmp_path):
    np.save(tmp_path / "labels.npy", np.array([1, 12]))
    with pytest.raises(ValueError, match=r"labels\.npy.*in \[0, 10\)"):
        run_sample(digits_ckpt, tmp_path, f"conditions={tmp_path}/labels.npy")
